/** Selu: Y = gamma·X (X > 0) or gamma·alpha·(eˣ − 1); dX = dY·(X > 0 ? gamma : Y + gamma·alpha). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const seluVjp: VjpRule = {
  opType: 'Selu',
  sinceVersion: 6,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const alpha = ctx.attrs.float('alpha', 1.67326319217681884765625);
    const gamma = ctx.attrs.float('gamma', 1.05070102214813232421875);
    const positive = b.op('Greater', [X, scalarLike(ctx, X, 0)], {}, { name: 'Selu_mask' });
    const negative = b.op('Add', [ctx.output(0), scalarLike(ctx, X, gamma * alpha)], {}, { name: 'Selu_neg' });
    const slope = b.op('Where', [positive, scalarLike(ctx, X, gamma), negative], {}, { name: 'Selu_slope' });
    return { X: b.op('Mul', [ctx.dY()!, slope], {}, { name: 'Selu_dX' }) };
  },
};
