/** Sum (variadic, broadcasting): dX_i = unbroadcast(dY). */
import type { GradMap, VjpRule } from '../vjp-rule.js';

export const sumVjp: VjpRule = {
  opType: 'Sum',
  sinceVersion: 13,
  inputs: 'variadic',
  vjp(ctx) {
    const dY = ctx.dY()!;
    const result: GradMap = {};
    ctx.node.inputs.forEach((x, i) => {
      result[String(i)] = ctx.needsGrad(i) ? ctx.unbroadcast(dY, x) : null;
    });
    return result;
  },
};
