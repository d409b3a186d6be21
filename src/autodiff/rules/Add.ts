/** Add: dA = unbroadcast(dY), dB = unbroadcast(dY). */
import type { VjpRule } from '../vjp-rule.js';

export const addVjp: VjpRule = {
  opType: 'Add',
  sinceVersion: 14,
  inputs: ['A', 'B'],
  vjp(ctx) {
    const dY = ctx.dY()!;
    return {
      A: ctx.needsGrad(0) ? ctx.unbroadcast(dY, ctx.input(0)) : null,
      B: ctx.needsGrad(1) ? ctx.unbroadcast(dY, ctx.input(1)) : null,
    };
  },
};
