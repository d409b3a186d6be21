/** LeakyRelu: dX = dY where X > 0, else alpha·dY (alpha·dY at X = 0, as PyTorch). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const leakyReluVjp: VjpRule = {
  opType: 'LeakyRelu',
  sinceVersion: 16,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const dY = ctx.dY()!;
    const alpha = ctx.attrs.float('alpha', 0.01);
    const positive = b.op('Greater', [X, scalarLike(ctx, X, 0)], {}, { name: 'LeakyRelu_mask' });
    const leaked = b.op('Mul', [dY, scalarLike(ctx, X, alpha)], {}, { name: 'LeakyRelu_leak' });
    return { X: b.op('Where', [positive, dY, leaked], {}, { name: 'LeakyRelu_dX' }) };
  },
};
