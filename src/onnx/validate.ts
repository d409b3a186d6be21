/**
 * Structural validation of a graph, with errors that name the offending node: every value has one
 * producer, every input is produced before use (no cycles), outputs exist, names are non-empty.
 * onnxruntime checks op semantics when it loads the model; this catches what would otherwise
 * surface as a confusing failure deep inside gradient construction.
 */
import { GibbonError } from '../errors.js';
import { topologicalSort, type Graph } from './graph.js';

export function validateGraph(g: Graph, where = 'model'): void {
  if (g.inputs.length === 0) throw new GibbonError('invalid_graph', `${where} has no graph inputs`);
  if (g.outputs.length === 0) throw new GibbonError('invalid_graph', `${where} has no graph outputs`);
  const produced = new Map<string, string>();
  for (const v of g.inputs) produced.set(v.name, `graph input '${v.name}'`);
  for (const k of g.initializers.keys()) if (!produced.has(k)) produced.set(k, `initializer '${k}'`);
  for (const n of g.nodes) {
    const loc = { node: { name: n.name, opType: n.opType } };
    if (!n.opType) throw new GibbonError('invalid_graph', `node '${n.name}' has no op type`, loc);
    if (n.outputs.length === 0) throw new GibbonError('invalid_graph', `node '${n.name}' (${n.opType}) has no outputs`, loc);
    for (const o of n.outputs) {
      if (!o) continue;
      const previous = produced.get(o);
      if (previous) throw new GibbonError('invalid_graph', `value '${o}' is produced by node '${n.name}' (${n.opType}) and also by ${previous}`, loc);
      produced.set(o, `node '${n.name}'`);
    }
  }
  for (const o of g.outputs) {
    if (!produced.has(o.name)) throw new GibbonError('invalid_graph', `graph output '${o.name}' is not produced by any node`);
  }
  topologicalSort(g);
}
