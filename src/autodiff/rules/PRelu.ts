/** PRelu: Y = X (X > 0) or slope·X; dX = X > 0 ? dY : slope·dY, dslope = unbroadcast(X > 0 ? 0 : dY·X). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const pReluVjp: VjpRule = {
  opType: 'PRelu',
  sinceVersion: 16,
  inputs: ['X', 'slope'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const slope = ctx.input(1);
    const dY = ctx.dY()!;
    // X > 0 (not X ≥ 0) sends the gradient at 0 to the slope branch, as PyTorch does.
    const positive = b.op('Greater', [X, scalarLike(ctx, X, 0)], {}, { name: 'PRelu_mask' });
    const zero = scalarLike(ctx, X, 0);
    return {
      // slope broadcasts one way onto X, so dX already has X's shape.
      X: ctx.needsGrad(0) ? b.op('Where', [positive, dY, b.op('Mul', [dY, slope])], {}, { name: 'PRelu_dX' }) : null,
      slope: ctx.needsGrad(1) ? ctx.unbroadcast(b.op('Where', [positive, zero, b.op('Mul', [dY, X])], {}, { name: 'PRelu_dslope' }), slope) : null,
    };
  },
};
