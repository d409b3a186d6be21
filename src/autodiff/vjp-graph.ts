/**
 * buildVjpGraph: the general vector-Jacobian product of a graph. For outputs Y_k and cotangents
 * c_k (fed as inputs `cotangent:<Y_k>`), the new model outputs Y_k and, for each value w in
 * `wrt`, `grad:<w>` = Σ_k c_k · ∂Y_k/∂w. buildGradientGraph is the classifier-with-a-loss special
 * case; this one is used to check rules against finite differences and for custom objectives.
 */
import { GibbonError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { canonicalize } from '../onnx/canonicalize.js';
import type { ModelIR } from '../onnx/model.js';
import { backprop, type NonDifferentiablePolicy } from './backprop.js';
import { DEFAULT_VJP_REGISTRY, gradOutputName } from './gradient-graph.js';
import { probeWithBranches } from './branch-probe.js';
import type { VjpRegistry } from './registry.js';
import { prepareSurrogates } from './surrogates.js';
import { unrollRecurrent } from './unroll-recurrent.js';

export const cotangentInputName = (output: string): string => `cotangent:${output}`;

export interface VjpGraphOptions {
  wrt: readonly string[];
  /** Outputs to differentiate (default: all graph outputs). */
  outputs?: readonly string[];
  nonDifferentiable?: NonDifferentiablePolicy;
  inputShapes?: Record<string, readonly (number | null)[]>;
  registry?: VjpRegistry;
}

export interface VjpGraph {
  readonly model: ModelIR;
  readonly cotangentInputs: ReadonlyMap<string, string>;
  readonly gradOutputs: ReadonlyMap<string, string>;
  readonly nonDifferentiableNodes: readonly { name: string; opType: string }[];
  readonly straightThroughNodes: readonly { name: string; opType: string }[];
}

export async function buildVjpGraph(source: ModelIR, options: VjpGraphOptions): Promise<VjpGraph> {
  const model = canonicalize(source);
  const g = model.graph;
  const outs = options.outputs ?? g.outputs.map((o) => o.name);
  for (const o of outs) {
    if (!g.outputs.some((x) => x.name === o)) throw new GibbonError('invalid_option', `model has no output '${o}'`, { option: 'outputs' });
  }
  await unrollRecurrent(model, { inputShapes: options.inputShapes }); // LSTM/GRU/RNN → standard ops, for backprop
  const facts = await probeWithBranches(model, { inputShapes: options.inputShapes });
  const b = new GraphBuilder(g, 'vjp');
  const cotangentInputs = new Map<string, string>();
  const seeds = outs.map((o) => {
    const f = facts.get(o)!;
    const name = cotangentInputName(o);
    g.inputs.push({ name, dataType: f.dataType, shape: f.shape.map((d, i) => d ?? `d${i}`) });
    cotangentInputs.set(o, name);
    return { value: o, grad: name };
  });
  const forwardNodes = g.nodes.slice();
  const result = backprop({
    graph: { ...g, nodes: forwardNodes },
    builder: b,
    facts,
    registry: options.registry ?? DEFAULT_VJP_REGISTRY,
    opset: model.opset,
    wrt: options.wrt,
    seeds,
    nonDifferentiable: await prepareSurrogates(options.nonDifferentiable, g, facts, model.opset),
  });
  const gradOutputs = new Map<string, string>();
  for (const [w, grad] of result.grads) {
    const name = gradOutputName(w);
    b.node('Identity', [grad], {}, { outputNames: [name] });
    const f = facts.get(w)!;
    g.outputs.push({ name, dataType: f.dataType, shape: f.shape.map((d, i) => d ?? `d${i}`) });
    gradOutputs.set(w, name);
  }
  return { model, cotangentInputs, gradOutputs, nonDifferentiableNodes: result.nonDifferentiableNodes, straightThroughNodes: result.straightThroughNodes };
}
