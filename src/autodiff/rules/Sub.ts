/** Sub: dA = unbroadcast(dY), dB = −unbroadcast(dY). */
import type { VjpRule } from '../vjp-rule.js';

export const subVjp: VjpRule = {
  opType: 'Sub',
  sinceVersion: 14,
  inputs: ['A', 'B'],
  vjp(ctx) {
    const dY = ctx.dY()!;
    return {
      A: ctx.needsGrad(0) ? ctx.unbroadcast(dY, ctx.input(0)) : null,
      B: ctx.needsGrad(1) ? ctx.b.op('Neg', [ctx.unbroadcast(dY, ctx.input(1))], {}, { name: 'Sub_dB' }) : null,
    };
  },
};
