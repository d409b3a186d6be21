/** Sin: dX = dY·cos(X). */
import type { VjpRule } from '../vjp-rule.js';

export const sinVjp: VjpRule = {
  opType: 'Sin',
  sinceVersion: 7,
  inputs: ['input'],
  vjp(ctx) {
    const { b } = ctx;
    return { input: b.op('Mul', [ctx.dY()!, b.op('Cos', [ctx.input(0)], {}, { name: 'Sin_slope' })], {}, { name: 'Sin_dX' }) };
  },
};
