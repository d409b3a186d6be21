/** Sigmoid: dX = dY·Y·(1 − Y). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const sigmoidVjp: VjpRule = {
  opType: 'Sigmoid',
  sinceVersion: 13,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const Y = ctx.output(0);
    const slope = b.op('Mul', [Y, b.op('Sub', [scalarLike(ctx, Y, 1), Y])], {}, { name: 'Sigmoid_slope' });
    return { X: b.op('Mul', [ctx.dY()!, slope], {}, { name: 'Sigmoid_dX' }) };
  },
};
