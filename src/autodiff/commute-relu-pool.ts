/**
 * MaxPool(Relu(x)) = Relu(MaxPool(x)): max commutes with any non-decreasing function, and MaxPool's
 * padding never wins in either order. The gradients agree too, with PyTorch's conventions (the first
 * maximum of a window wins, Relu' (0) = 0): where the window's maximum is positive the same cell wins
 * in both orders, and where it is not, both give zero. Before differentiation, each Relu read only by
 * a MaxPool is moved after it, so that the backward pass masks the pooled gradient (a quarter of the
 * elements for 2×2 pools) instead of the full-size one, and the full-size mask disappears.
 */
import type { Graph } from '../onnx/graph.js';

/** Rewrites `g` in place; returns how many Relu → MaxPool pairs were swapped. Values in `keep` (differentiated w.r.t., or read as outputs) are left alone. */
export function commuteReluPool(g: Graph, keep: ReadonlySet<string>): number {
  // A subgraph (If, Loop) may read any value of the outer scope; leave such graphs as they are.
  if (g.nodes.some((n) => n.attributes.some((a) => a.g !== undefined || a.graphs.length > 0))) return 0;
  const readers = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  let swapped = 0;
  for (const pool of g.nodes) {
    if (pool.opType !== 'MaxPool' || pool.domain !== '' || pool.outputs.length !== 1) continue;
    const r = pool.inputs[0]!;
    const relu = producer.get(r);
    if (!relu || relu.opType !== 'Relu' || relu.domain !== '' || readers.get(r) !== 1 || outputs.has(r) || keep.has(r)) continue;
    const x = relu.inputs[0]!;
    const pooled = pool.outputs[0]!;
    // The pool now reads x and writes the intermediate (the Relu's old output name, free now); the Relu writes the pool's output.
    pool.inputs[0] = x;
    pool.outputs[0] = r;
    relu.inputs[0] = r;
    relu.outputs[0] = pooled;
    // Keep the topological order: the Relu must come after the pool.
    g.nodes.splice(g.nodes.indexOf(relu), 1);
    g.nodes.splice(g.nodes.indexOf(pool) + 1, 0, relu);
    producer.set(r, pool);
    producer.set(pooled, relu);
    swapped++;
  }
  return swapped;
}
