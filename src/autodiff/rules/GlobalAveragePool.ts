/** GlobalAveragePool: Y[n,c] = mean over the spatial axes of X[n,c], so dX = dY / (D₁·D₂·…) broadcast over them. */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike, shapeOf, spatialCount } from './common.js';

export const globalAveragePoolVjp: VjpRule = {
  opType: 'GlobalAveragePool',
  sinceVersion: 1,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const count = spatialCount(ctx, X);
    const inv = typeof count === 'number' ? scalarLike(ctx, X, 1 / count) : b.op('Reciprocal', [b.op('Cast', [count], { to: ctx.dataType(X) })]);
    const share = b.op('Mul', [ctx.dY()!, inv], {}, { name: 'GlobalAveragePool_share' });
    return { X: b.op('Expand', [share, shapeOf(b, X, ctx.shape(X))], {}, { name: 'GlobalAveragePool_dX' }) };
  },
};
