/**
 * Shapes and types of the values inside If branches. The probe (probe.ts) sees only the main
 * graph's values; a branch's values live in its subgraph and the branch not taken on the probe
 * inputs is never run. So each If is also probed with each branch forced: the branch is inlined in
 * place of the If (canonicalisation has made every value name in the model unique, so the inlined
 * values keep their names). An If at nesting level d takes branch bit d of the pattern, and the
 * 2^depth patterns together run every branch of every If once at least. A pattern that fails to
 * run (a branch meant for other shapes) leaves its values unknown; the If rule reports them.
 */
import { GibbonError } from '../errors.js';
import { Attributes } from '../onnx/attributes.js';
import { graphFromProto, type Node } from '../onnx/graph.js';
import { cloneModel, type ModelIR } from '../onnx/model.js';
import { probeValues, type ProbeOptions, type ValueFacts } from './probe.js';

/** Deepest nesting of data-dependent Ifs whose branches are probed (2^depth probe runs). */
export const MAX_PROBED_IF_DEPTH = 4;

export async function probeWithBranches(model: ModelIR, options: ProbeOptions = {}): Promise<Map<string, ValueFacts>> {
  const facts = await probeValues(model, options);
  const depth = ifDepth(model.graph.nodes, 0);
  if (depth === 0) return facts;
  if (depth > MAX_PROBED_IF_DEPTH) {
    throw new GibbonError(
      'invalid_model',
      `If nodes are nested ${depth} deep; gibbon differentiates at most ${MAX_PROBED_IF_DEPTH} levels of data-dependent If`,
    );
  }
  for (let pattern = 0; pattern < 2 ** depth; pattern++) {
    const forced = cloneModel(model);
    forced.graph.nodes = forceBranches(forced.graph.nodes, pattern, 0);
    let branchFacts: Map<string, ValueFacts>;
    try {
      branchFacts = await probeValues(forced, options);
    } catch {
      continue; // those branches cannot run on these shapes; their values stay unknown
    }
    for (const [name, f] of branchFacts) if (!facts.has(name)) facts.set(name, f);
  }
  return facts;
}

function isIf(n: Node): boolean {
  return n.domain === '' && n.opType === 'If';
}

/** Nesting depth of If nodes (1 for an If without Ifs in its branches). Bounded by canonicalisation's depth cap. */
function ifDepth(nodes: readonly Node[], level: number): number {
  let deepest = 0;
  for (const n of nodes) {
    if (!isIf(n)) continue;
    const a = new Attributes(n);
    for (const attr of ['then_branch', 'else_branch']) {
      const g = a.raw(attr)?.g;
      if (g) deepest = Math.max(deepest, 1 + ifDepth(graphFromProto(g).nodes, level + 1));
    }
  }
  return deepest;
}

/** Replaces each If by the branch the pattern picks for its level, recursively. */
function forceBranches(nodes: readonly Node[], pattern: number, level: number): Node[] {
  const out: Node[] = [];
  for (const n of nodes) {
    if (!isIf(n)) {
      out.push(n);
      continue;
    }
    const attr = (pattern >> level) & 1 ? 'else_branch' : 'then_branch';
    const g = new Attributes(n).raw(attr)?.g;
    if (!g) {
      out.push(n);
      continue;
    }
    const branch = graphFromProto(g);
    out.push(...forceBranches(branch.nodes, pattern, level + 1));
    branch.outputs.forEach((o, i) => {
      const target = n.outputs[i];
      if (target) out.push({ name: `${n.name}/forced/${target}`, opType: 'Identity', domain: '', inputs: [o.name], outputs: [target], attributes: [] });
    });
  }
  return out;
}
