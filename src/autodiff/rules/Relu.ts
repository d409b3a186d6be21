/** Relu: dX = dY where X > 0 (0 at X = 0, as PyTorch). */
import type { VjpRule } from '../vjp-rule.js';

export const reluVjp: VjpRule = {
  opType: 'Relu',
  sinceVersion: 14,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const positive = b.op('Greater', [X, b.scalar(0, ctx.dataType(X))], {}, { name: 'Relu_mask' });
    return { X: b.op('Where', [positive, ctx.dY()!, b.scalar(0, ctx.dataType(X))], {}, { name: 'Relu_dX' }) };
  },
};
