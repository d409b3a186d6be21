/** Div: Y = A / B; dA = unbroadcast(dY / B), dB = unbroadcast(−dY·Y / B). */
import type { VjpRule } from '../vjp-rule.js';

export const divVjp: VjpRule = {
  opType: 'Div',
  sinceVersion: 14,
  inputs: ['A', 'B'],
  vjp(ctx) {
    const { b } = ctx;
    const dY = ctx.dY()!;
    const B = ctx.input(1);
    const dYoverB = b.op('Div', [dY, B], {}, { name: 'Div_dA' });
    return {
      A: ctx.needsGrad(0) ? ctx.unbroadcast(dYoverB, ctx.input(0)) : null,
      B: ctx.needsGrad(1) ? ctx.unbroadcast(b.op('Neg', [b.op('Mul', [dYoverB, ctx.output(0)])], {}, { name: 'Div_dB' }), B) : null,
    };
  },
};
