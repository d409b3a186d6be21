/**
 * differentiate: the one entry point to backprop for the graph builders (gradient-graph.ts,
 * ctc-gradient-graph.ts, vjp-graph.ts, training/training-graph.ts, training/ibp-training-graph.ts).
 * Each builder appends its head and seeds to a canonical, probed graph and calls this: it resolves
 * the policy at non-differentiable ops (surrogates.ts), runs backprop over the forward nodes, and
 * names each gradient `grad:<value>` for the builder to list among the graph's outputs.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { Dim, Node, ValueInfo } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { backprop, type NonDifferentiablePolicy } from './backprop.js';
import type { ValueFacts } from './probe.js';
import { createVjpRegistry, type VjpRegistry } from './registry.js';
import { ALL_RULES } from './rules/index.js';
import { prepareSurrogates } from './surrogates.js';

/** The output holding the gradient with respect to a value. */
export const gradOutputName = (value: string): string => `grad:${value}`;

/** The registry of all shipped rules (immutable). */
export const DEFAULT_VJP_REGISTRY: VjpRegistry = createVjpRegistry(ALL_RULES);

export interface DifferentiateOptions {
  readonly builder: GraphBuilder;
  /** Shapes and types of the graph's values (probe.ts). */
  readonly facts: Map<string, ValueFacts>;
  /** Values to differentiate with respect to. */
  readonly wrt: readonly string[];
  /** Values the gradients flow back from, each with its incoming gradient (cotangent). */
  readonly seeds: readonly { value: string; grad: string }[];
  /**
   * The nodes to walk (default: the graph's nodes when called). A head that emits its seeds'
   * cotangents itself is left out by passing the nodes from before it.
   */
  readonly forwardNodes?: readonly Node[];
  /** 'zero' (the true gradient, default), 'identity' (straight-through) or surrogates (BPDA). */
  readonly nonDifferentiable?: NonDifferentiablePolicy;
  readonly registry?: VjpRegistry;
  /** Name of a dynamic dimension in the gradient outputs' declared shapes (default: unnamed). */
  readonly dimName?: (axis: number) => string;
}

export interface Differentiated {
  /** Differentiated value → its gradient output (`grad:<value>`), in wrt order. */
  readonly gradOutputs: Map<string, string>;
  /** The gradient outputs' declarations, in wrt order, for the graph's outputs. */
  readonly outputs: ValueInfo[];
  /** Nodes on the path whose gradient is zero almost everywhere. */
  readonly nonDifferentiableNodes: { name: string; opType: string }[];
  /** Nodes whose gradient is a straight-through estimate (the rounding in quantised ops). */
  readonly straightThroughNodes: { name: string; opType: string }[];
}

/** Emits into model's graph the gradients of the seeds with respect to `wrt`, each as an Identity named `grad:<value>`. */
export async function differentiate(model: ModelIR, o: DifferentiateOptions): Promise<Differentiated> {
  const g = model.graph;
  const forwardNodes = (o.forwardNodes ?? g.nodes).slice();
  const result = backprop({
    graph: { ...g, nodes: forwardNodes },
    builder: o.builder,
    facts: o.facts,
    registry: o.registry ?? DEFAULT_VJP_REGISTRY,
    opset: model.opset,
    wrt: o.wrt,
    seeds: o.seeds,
    nonDifferentiable: await prepareSurrogates(o.nonDifferentiable, g, o.facts, model.opset),
  });
  const gradOutputs = new Map<string, string>();
  const outputs: ValueInfo[] = [];
  for (const [w, grad] of result.grads) {
    const name = gradOutputName(w);
    o.builder.node('Identity', [grad], {}, { outputNames: [name] });
    const f = o.facts.get(w)!;
    const shape: Dim[] = f.shape.map((d, i) => d ?? o.dimName?.(i) ?? null);
    outputs.push({ name, dataType: f.dataType, shape });
    gradOutputs.set(w, name);
  }
  return { gradOutputs, outputs, nonDifferentiableNodes: result.nonDifferentiableNodes, straightThroughNodes: result.straightThroughNodes };
}
