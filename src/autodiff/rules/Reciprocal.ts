/** Reciprocal: Y = 1/X; dX = −dY·Y². */
import type { VjpRule } from '../vjp-rule.js';

export const reciprocalVjp: VjpRule = {
  opType: 'Reciprocal',
  sinceVersion: 13,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const Y = ctx.output(0);
    const square = b.op('Mul', [Y, Y], {}, { name: 'Reciprocal_Y2' });
    return { X: b.op('Neg', [b.op('Mul', [ctx.dY()!, square])], {}, { name: 'Reciprocal_dX' }) };
  },
};
