/**
 * Shared by Max and Min: the output equals one or more inputs at each position, and the gradient
 * is split equally among the inputs that attain it (PyTorch's convention for maximum/minimum,
 * extended to n inputs). The split keeps Σ_i dX_i = dY at ties, so gradients are not double counted.
 */
import type { GradMap, VjpContext } from '../vjp-rule.js';

export function splitAmongTies(ctx: VjpContext, opType: string): GradMap {
  const { b } = ctx;
  const dY = ctx.dY()!;
  const Y = ctx.output(0);
  const inputs = ctx.node.inputs;
  if (inputs.length === 1) return { '0': dY };
  const type = ctx.dataType(Y);
  const attains = inputs.map((x) => b.op('Cast', [b.op('Equal', [x, Y])], { to: type }, { name: `${opType}_attains` }));
  const share = b.op('Div', [dY, b.op('Sum', attains, {}, { name: `${opType}_ties` })], {}, { name: `${opType}_share` });
  const result: GradMap = {};
  inputs.forEach((x, i) => {
    result[String(i)] = ctx.needsGrad(i) ? ctx.unbroadcast(b.op('Mul', [share, attains[i]!], {}, { name: `${opType}_d${i}` }), x) : null;
  });
  return result;
}
