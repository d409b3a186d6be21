/**
 * If: the gradient is a backward If on the same condition. Each backward branch recomputes its
 * forward branch (whose values are local to the forward If) and differentiates it, giving the
 * gradient of every outer-scope value the If reads (a branch that does not read a value gives
 * zeros for it). So the gradient graph is right whichever branch runs at run time; the whole batch
 * takes one branch, as in the forward graph (ONNX's condition is a single boolean).
 *
 * Shapes of branch values come from probing each branch (autodiff/branch-probe.ts). A branch that
 * could not be probed gets a clear error, unless the condition is known to be constant (computed
 * from shapes and constants only): then that branch never runs and its gradients are zeros.
 */
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType as AT } from 'onnx-buf';
import { GibbonError } from '../../errors.js';
import { isFloatType } from '../../onnx/dtypes.js';
import { graphFromProto, graphToProto, type Graph, type Node } from '../../onnx/graph.js';
import { zerosOfShape } from './common.js';
import type { VjpContext, VjpRule } from '../vjp-rule.js';

const BRANCHES = ['then_branch', 'else_branch'] as const;

export const ifVjp: VjpRule = {
  opType: 'If',
  sinceVersion: 1,
  inputs: 'reads',
  vjp: (ctx) => {
    const node = ctx.node;
    const cond = ctx.input(0);
    // The condition and other non-float reads (e.g. a quantiser's integer output) carry no gradient.
    const wanted = ctx.reads().filter((v) => ctx.needsGradOf(v));
    const targets = wanted.filter((v) => v !== cond && isFloatType(ctx.dataType(v)));
    const none = Object.fromEntries(wanted.filter((v) => !targets.includes(v)).map((v) => [v, null]));
    if (targets.length === 0) return none;
    const known = ctx.constant(cond);
    const taken = known === undefined ? undefined : known[0] !== 0 ? 'then_branch' : 'else_branch';
    const graphs = BRANCHES.map((attr) => {
      const proto = ctx.attrs.raw(attr)?.g;
      if (!proto) throw new GibbonError('invalid_model', `If node '${node.name}' has no ${attr}`, { node: { name: node.name, opType: node.opType } });
      return backwardBranch(ctx, graphFromProto(proto), attr, targets, taken !== undefined && taken !== attr);
    });
    const attrs = Object.fromEntries(BRANCHES.map((name, i) => [name, create(AttributeProtoSchema, { name, type: AT.GRAPH, g: graphToProto(graphs[i]!) })]));
    const outputs = ctx.b.node('If', [cond], attrs, { outputs: targets.length, name: `${node.name}/grad` });
    return { ...none, ...Object.fromEntries(targets.map((t, i) => [t, outputs[i]!])) };
  },
};

/**
 * A backward branch: the forward branch's nodes (recomputed), their gradients from the If's output
 * gradients, and one output per target. `dead`: the branch never runs (constant condition).
 */
function backwardBranch(ctx: VjpContext, forward: Graph, attr: string, targets: readonly string[], dead: boolean): Graph {
  const node = ctx.node;
  const sub: Graph = { name: `${node.name}/grad/${attr}`, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  const b = ctx.b.child(sub);
  let grads: Map<string, string>;
  if (dead) grads = new Map();
  else {
    const missing = forward.nodes.flatMap((n) => n.outputs).find((v) => v && !ctx.known(v));
    if (missing !== undefined) {
      throw new GibbonError(
        'invalid_model',
        `cannot differentiate If node '${node.name}': its ${attr} could not be run on probe inputs (value '${missing}' has no known shape)`,
        { node: { name: node.name, opType: node.opType } },
      );
    }
    sub.nodes.push(...forward.nodes.map((n): Node => ({ ...n, name: b.fresh(`${n.name}/recompute`) })));
    const seeds = forward.outputs.flatMap((o, i) => {
      const grad = ctx.dY(i);
      return grad ? [{ value: o.name, grad }] : [];
    });
    grads = ctx.differentiate({ ...forward, nodes: forward.nodes }, b, targets, seeds);
  }
  for (const t of targets) {
    const g = grads.get(t) ?? zerosOfShape(b, t, ctx.dataType(t), ctx.shape(t));
    // A subgraph output must be computed inside the subgraph (not name an outer value).
    const out = b.op('Identity', [g], {}, { name: 'branch_grad' });
    sub.outputs.push({ name: out, dataType: ctx.dataType(t), shape: null });
  }
  return sub;
}
