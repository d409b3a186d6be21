/** Elu: Y = X (X > 0) or alpha·(eˣ − 1); dX = X > 0 ? dY : dY·(Y + alpha). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const eluVjp: VjpRule = {
  opType: 'Elu',
  sinceVersion: 6,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const dY = ctx.dY()!;
    const alpha = ctx.attrs.float('alpha', 1);
    const positive = b.op('Greater', [X, scalarLike(ctx, X, 0)], {}, { name: 'Elu_mask' });
    // On the negative side alpha·eˣ = Y + alpha: reuse Y instead of another Exp.
    const negative = b.op('Mul', [dY, b.op('Add', [ctx.output(0), scalarLike(ctx, X, alpha)])], {}, { name: 'Elu_neg' });
    return { X: b.op('Where', [positive, dY, negative], {}, { name: 'Elu_dX' }) };
  },
};
