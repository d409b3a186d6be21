/** HardSigmoid: Y = clip(alpha·X + beta, 0, 1); dX = alpha·dY where 0 < Y < 1, else 0. */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const hardSigmoidVjp: VjpRule = {
  opType: 'HardSigmoid',
  sinceVersion: 6,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const Y = ctx.output(0);
    const alpha = ctx.attrs.float('alpha', 0.2);
    // Testing Y (not X against −beta/alpha) stays right for a negative alpha. Strict bounds, as PyTorch.
    const inside = b.op('And', [b.op('Greater', [Y, scalarLike(ctx, Y, 0)]), b.op('Less', [Y, scalarLike(ctx, Y, 1)])], {}, { name: 'HardSigmoid_mask' });
    const scaled = b.op('Mul', [ctx.dY()!, scalarLike(ctx, Y, alpha)], {}, { name: 'HardSigmoid_scaled' });
    return { X: b.op('Where', [inside, scaled, scalarLike(ctx, Y, 0)], {}, { name: 'HardSigmoid_dX' }) };
  },
};
