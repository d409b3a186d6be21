/** Mean (variadic, broadcasting): dX_i = unbroadcast(dY / n). */
import type { GradMap, VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const meanVjp: VjpRule = {
  opType: 'Mean',
  sinceVersion: 13,
  inputs: 'variadic',
  vjp(ctx) {
    const n = ctx.node.inputs.length;
    const scaled = ctx.b.op('Mul', [ctx.dY()!, scalarLike(ctx, ctx.output(0), 1 / n)], {}, { name: 'Mean_share' });
    const result: GradMap = {};
    ctx.node.inputs.forEach((x, i) => {
      result[String(i)] = ctx.needsGrad(i) ? ctx.unbroadcast(scaled, x) : null;
    });
    return result;
  },
};
