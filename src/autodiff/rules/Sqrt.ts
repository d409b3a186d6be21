/** Sqrt: dX = dY / (2·Y). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const sqrtVjp: VjpRule = {
  opType: 'Sqrt',
  sinceVersion: 13,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const Y = ctx.output(0);
    const half = b.op('Mul', [ctx.dY()!, scalarLike(ctx, Y, 0.5)], {}, { name: 'Sqrt_half' });
    return { X: b.op('Div', [half, Y], {}, { name: 'Sqrt_dX' }) };
  },
};
