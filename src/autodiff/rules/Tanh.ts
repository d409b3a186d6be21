/** Tanh: dX = dY·(1 − Y²). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const tanhVjp: VjpRule = {
  opType: 'Tanh',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    const { b } = ctx;
    const Y = ctx.output(0);
    const slope = b.op('Sub', [scalarLike(ctx, Y, 1), b.op('Mul', [Y, Y])], {}, { name: 'Tanh_slope' });
    return { input: b.op('Mul', [ctx.dY()!, slope], {}, { name: 'Tanh_dX' }) };
  },
};
