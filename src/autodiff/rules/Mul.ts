/** Mul: dA = unbroadcast(dY·B), dB = unbroadcast(dY·A). */
import type { VjpRule } from '../vjp-rule.js';

export const mulVjp: VjpRule = {
  opType: 'Mul',
  sinceVersion: 14,
  inputs: ['A', 'B'],
  vjp(ctx) {
    const { b } = ctx;
    const dY = ctx.dY()!;
    const A = ctx.input(0);
    const B = ctx.input(1);
    return {
      A: ctx.needsGrad(0) ? ctx.unbroadcast(b.op('Mul', [dY, B], {}, { name: 'Mul_dA' }), A) : null,
      B: ctx.needsGrad(1) ? ctx.unbroadcast(b.op('Mul', [dY, A], {}, { name: 'Mul_dB' }), B) : null,
    };
  },
};
