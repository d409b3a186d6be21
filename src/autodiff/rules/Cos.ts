/** Cos: dX = −dY·sin(X). */
import type { VjpRule } from '../vjp-rule.js';

export const cosVjp: VjpRule = {
  opType: 'Cos',
  sinceVersion: 7,
  inputs: ['input'],
  vjp(ctx) {
    const { b } = ctx;
    const scaled = b.op('Mul', [ctx.dY()!, b.op('Sin', [ctx.input(0)], {}, { name: 'Cos_slope' })]);
    return { input: b.op('Neg', [scaled], {}, { name: 'Cos_dX' }) };
  },
};
