/**
 * Reverse-mode differentiation of an ONNX graph, emitted as ONNX nodes. Walks the nodes between
 * the values to differentiate (`wrt`) and the seed in reverse topological order, asks each node's
 * rule for the gradients of its inputs, and accumulates fan-out with Sum.
 */
import { GibbonError, UnsupportedOpError } from '../errors.js';
import { Attributes } from '../onnx/attributes.js';
import type { GraphBuilder } from '../onnx/builder.js';
import { isFloatType } from '../onnx/dtypes.js';
import { ancestorsOf, nodeReads, topologicalSort, type Graph, type Node } from '../onnx/graph.js';
import type { ValueFacts } from './probe.js';
import type { VjpRegistry } from './registry.js';
import { zerosOfShape } from './rules/common.js';
import { isNonDifferentiableNode, surrogateGradient, type PreparedPolicy } from './surrogates.js';
import { SHAPE_OPS, unsupportedAttribute, type VjpContext } from './vjp-rule.js';

export type { NonDifferentiablePolicy } from './surrogates.js';

export interface BackpropOptions {
  graph: Graph;
  builder: GraphBuilder;
  facts: Map<string, ValueFacts>;
  registry: VjpRegistry;
  opset: number;
  wrt: readonly string[];
  /** Values the gradients flow back from, each with its incoming gradient (cotangent). */
  seeds: readonly { value: string; grad: string }[];
  /** 'zero' (the true gradient, default), 'identity' (straight-through) or surrogates per node (BPDA; surrogates.ts). */
  nonDifferentiable?: PreparedPolicy;
  /** For a subgraph: it reads values of enclosing scopes (any name it does not define). */
  subgraph?: boolean;
}

export interface BackpropResult {
  /** Gradient value name per wrt name. */
  grads: Map<string, string>;
  /** Nodes on the path whose gradient is zero almost everywhere. */
  nonDifferentiableNodes: { name: string; opType: string }[];
  /** Nodes whose gradient is a straight-through estimate (the rounding in quantised ops). */
  straightThroughNodes: { name: string; opType: string }[];
}

const NO_GRAD = new Set(SHAPE_OPS);

export function backprop(o: BackpropOptions): BackpropResult {
  const { graph, builder: b, facts, registry } = o;
  const fact = (v: string): ValueFacts => {
    const f = facts.get(v);
    if (!f) throw new GibbonError('internal', `no shape known for value '${v}'`);
    return f;
  };
  const isFloat = (v: string): boolean => v !== '' && isFloatType(facts.get(v)?.dataType ?? 0);

  const order = topologicalSort(graph, { outerScope: o.subgraph ? 'any' : undefined });
  // Control-flow nodes read outer-scope values inside their subgraphs: those count as inputs.
  const readsOf = new Map<Node, readonly string[]>();
  for (const n of order) readsOf.set(n, nodeReads(n));
  // A quantiser (Round, QuantizeLinear, a Cast from float to an integer …) is non-differentiable.
  const isNonDifferentiable = (n: Node): boolean => isNonDifferentiableNode(n, isFloat);
  const policy = o.nonDifferentiable ?? 'zero';
  // Values that depend on a wrt value through float values, or through a quantiser's output
  // (so that quantise → dequantise chains are found and reported, and can be made straight-through).
  const reachable = new Set<string>(o.wrt.filter(isFloat));
  for (const n of order) {
    if (NO_GRAD.has(n.opType) && n.domain === '') continue;
    if (!readsOf.get(n)!.some((i) => reachable.has(i))) continue;
    const quantiser = registry.lookup(n.opType, o.opset, n.domain)?.quantised !== undefined || (isNonDifferentiable(n) && reachable.has(n.inputs[0]!));
    for (const out of n.outputs) if (out && (isFloat(out) || quantiser)) reachable.add(out);
  }
  const needed = ancestorsOf(
    graph,
    o.seeds.map((s) => s.value),
  );

  const contributions = new Map<string, string[]>();
  const push = (v: string, g: string): void => {
    const list = contributions.get(v);
    if (list) list.push(g);
    else contributions.set(v, [g]);
  };
  const total = (v: string): string | null => {
    const list = contributions.get(v);
    if (!list || list.length === 0) return null;
    if (list.length === 1) return list[0]!;
    const sum = b.op('Sum', list, {}, { name: 'grad_sum' });
    contributions.set(v, [sum]);
    return sum;
  };
  for (const s of o.seeds) push(s.value, s.grad);

  const nonDifferentiableNodes: { name: string; opType: string }[] = [];
  const straightThroughNodes: { name: string; opType: string }[] = [];
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    if (!readsOf.get(node)!.some((i) => reachable.has(i)) || !node.outputs.some((x) => needed.has(x))) continue;
    const dYs = node.outputs.map((x) => (x ? total(x) : null));
    if (dYs.every((d) => d === null)) continue;
    if (isNonDifferentiable(node)) {
      nonDifferentiableNodes.push({ name: node.name, opType: node.opType });
      const x = node.inputs[0]!;
      const surrogate = typeof policy === 'object' ? policy.byNode.get(node.name) : undefined;
      const otherwise = typeof policy === 'object' ? policy.otherwise : policy;
      if (surrogate && dYs[0] && reachable.has(x)) {
        // BPDA with the user's differentiable g: dX = J_g(x)ᵀ·dY (the forward value stays the node's).
        push(
          x,
          surrogateGradient(b, surrogate, x, dYs[0], facts, (sub) => {
            // The inlined nodes read x like a graph input.
            const inputs = [...graph.inputs, { name: x, dataType: fact(x).dataType, shape: null }];
            const inner = {
              ...o,
              graph: { ...graph, inputs, nodes: sub.nodes },
              facts: sub.facts,
              wrt: [x],
              seeds: [sub.seed],
              nonDifferentiable: 'zero' as const,
            };
            return backprop(inner).grads.get(x)!;
          }),
        );
      } else if (otherwise === 'identity' && dYs[0] && reachable.has(x)) {
        // Straight-through (BPDA with the identity as surrogate): dX = dY, summed over broadcast axes.
        push(x, unbroadcast(b, dYs[0], fact(node.outputs[0]!).shape, x, fact(x).shape));
      }
      continue;
    }
    const rule = registry.lookup(node.opType, o.opset, node.domain);
    if (!rule) {
      if (node.domain === '' && (node.opType === 'Loop' || node.opType === 'Scan')) {
        throw new GibbonError(
          'unsupported_op',
          `cannot differentiate ${node.opType} node '${node.name}': gibbon differentiates a Loop by unrolling it, which needs a constant trip count, ` +
            `no early exit, no subgraphs in its body and at most 100000 unrolled nodes`,
          { node: { name: node.name, opType: node.opType } },
        );
      }
      throw new UnsupportedOpError(node.opType, node.name, registry.supportedOps, node.domain);
    }
    const needs = (i: number): boolean => (node.inputs[i] ?? '') !== '' && reachable.has(node.inputs[i]!);
    const ctx = makeContext(node, dYs, needs, o, fact, readsOf.get(node)!, reachable);
    const result = rule.vjp(ctx);
    if (rule.quantised === 'straight-through') straightThroughNodes.push({ name: node.name, opType: node.opType });
    if (rule.inputs === 'reads') {
      for (const v of readsOf.get(node)!) {
        if (!reachable.has(v)) continue;
        const g = result[v];
        if (g === undefined) {
          throw new GibbonError('internal', `gradient rule for ${node.opType} gave no gradient for '${v}' at node '${node.name}'`, {
            node: { name: node.name, opType: node.opType },
          });
        }
        if (g !== null) push(v, g);
      }
      continue;
    }
    node.inputs.forEach((input, i) => {
      if (!needs(i)) return;
      const key = rule.inputs === 'variadic' ? String(i) : rule.inputs[i];
      if (key === undefined) throw new GibbonError('internal', `gradient rule for ${node.opType} declares no name for input ${i} (node '${node.name}')`);
      const g = result[key];
      if (g === undefined) {
        throw new GibbonError('internal', `gradient rule for ${node.opType} gave no gradient for input '${key}' at node '${node.name}'`, {
          node: { name: node.name, opType: node.opType },
        });
      }
      if (g !== null) push(input, g);
    });
  }

  const grads = new Map<string, string>();
  for (const w of o.wrt) {
    const g = total(w);
    if (g) grads.set(w, g);
    else grads.set(w, zerosOfShape(b, w, fact(w).dataType, fact(w).shape));
  }
  return { grads, nonDifferentiableNodes, straightThroughNodes };
}

function makeContext(
  node: Node,
  dYs: (string | null)[],
  needs: (i: number) => boolean,
  o: BackpropOptions,
  fact: (v: string) => ValueFacts,
  reads: readonly string[],
  reachable: ReadonlySet<string>,
): VjpContext {
  const b = o.builder;
  const ctx: VjpContext = {
    node,
    attrs: new Attributes(node),
    b,
    opset: o.opset,
    input: (i) => node.inputs[i] ?? '',
    output: (i) => node.outputs[i] ?? '',
    dY: (i = 0) => dYs[i] ?? null,
    needsGrad: needs,
    shape: (v) => fact(v).shape,
    rank: (v) => fact(v).shape.length,
    dataType: (v) => fact(v).dataType,
    constant: (v) => fact(v).constant,
    unbroadcast: (grad, v) => unbroadcast(b, grad, fact(node.outputs[0]!).shape, v, fact(v).shape),
    unsupported: (what) => unsupportedAttribute(node, what),
    known: (v) => o.facts.has(v),
    reads: () => reads,
    needsGradOf: (v) => v !== '' && reachable.has(v),
    differentiate: (sub, builder, wrt, seeds) => backprop({ ...o, graph: sub, builder, wrt, seeds, subgraph: true }).grads,
  };
  return ctx;
}

/**
 * Sums a gradient shaped like `outShape` down to `inShape` under numpy broadcasting: over the
 * leading axes the input lacks and over axes where the input has size 1.
 */
export function unbroadcast(b: GraphBuilder, grad: string, outShape: readonly (number | null)[], value: string, inShape: readonly (number | null)[]): string {
  const lead = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead) axes.push(i);
    else if (inShape[i - lead] === 1 && outShape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return grad;
  const summed = b.op('ReduceSum', [grad, b.int64s(axes)], { keepdims: 1 }, { name: 'unbroadcast' });
  if (lead === 0) return summed;
  const target = inShape.every((d) => d !== null) ? b.int64s(inShape as number[]) : b.op('Shape', [value]);
  return b.op('Reshape', [summed, target], {}, { name: 'unbroadcast' });
}
