/** Renaming a value of a graph. */
import type { Graph } from './graph.js';

/** Renames a value everywhere in the graph: node inputs and outputs, graph inputs and outputs, initializers (no-op if absent). */
export function renameValue(g: Graph, from: string, to: string): void {
  const swap = (v: string): string => (v === from ? to : v);
  for (const n of g.nodes) {
    n.inputs = n.inputs.map(swap);
    n.outputs = n.outputs.map(swap);
  }
  for (const v of [...g.inputs, ...g.outputs]) if (v.name === from) v.name = to;
  const init = g.initializers.get(from);
  if (init) {
    g.initializers.delete(from);
    g.initializers.set(to, { ...init, name: to });
  }
}
