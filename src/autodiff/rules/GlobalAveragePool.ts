/** GlobalAveragePool: Y[n,c] = mean over the spatial axes of X[n,c], so dX = dY / (D₁·D₂·…) broadcast over them. */
import type { VjpRule } from '../vjp-rule.js';
import { isStatic, type Shape, scalarLike, shapeOf } from './common.js';

export const globalAveragePoolVjp: VjpRule = {
  opType: 'GlobalAveragePool',
  sinceVersion: 1,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const shape = ctx.shape(X);
    const spatial: Shape = shape.slice(2);
    const inv = isStatic(spatial)
      ? scalarLike(ctx, X, 1 / spatial.reduce((a, c) => a * c, 1))
      : b.op('Reciprocal', [b.op('Cast', [b.op('ReduceProd', [b.op('Shape', [X], { start: 2 })], { keepdims: 0 })], { to: ctx.dataType(X) })]);
    const share = b.op('Mul', [ctx.dY()!, inv], {}, { name: 'GlobalAveragePool_share' });
    return { X: b.op('Expand', [share, shapeOf(b, X, shape)], {}, { name: 'GlobalAveragePool_dX' }) };
  },
};
