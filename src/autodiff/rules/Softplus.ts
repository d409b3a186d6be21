/** Softplus: Y = log(1 + eˣ); dX = dY·σ(X). */
import type { VjpRule } from '../vjp-rule.js';

export const softplusVjp: VjpRule = {
  opType: 'Softplus',
  sinceVersion: 1,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    return { X: b.op('Mul', [ctx.dY()!, b.op('Sigmoid', [ctx.input(0)], {}, { name: 'Softplus_slope' })], {}, { name: 'Softplus_dX' }) };
  },
};
