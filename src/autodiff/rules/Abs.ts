/** Abs: dX = dY·sign(X) (0 at X = 0, as PyTorch). */
import type { VjpRule } from '../vjp-rule.js';

export const absVjp: VjpRule = {
  opType: 'Abs',
  sinceVersion: 13,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    return { X: b.op('Mul', [ctx.dY()!, b.op('Sign', [ctx.input(0)], {}, { name: 'Abs_sign' })], {}, { name: 'Abs_dX' }) };
  },
};
