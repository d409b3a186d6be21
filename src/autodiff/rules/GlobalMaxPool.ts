/** GlobalMaxPool: Y[n,c] = max over the spatial axes of X[n,c]; dX puts dY on the first maximum (row-major), as MaxPool does. */
import type { VjpRule } from '../vjp-rule.js';
import { reshapeLike, scalarLike, spatialCount } from './common.js';

export const globalMaxPoolVjp: VjpRule = {
  opType: 'GlobalMaxPool',
  sinceVersion: 1,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const flat = b.op('Reshape', [X, b.int64s([0, 0, -1])], {}, { name: 'GlobalMaxPool_flat' });
    const arg = b.op('ArgMax', [flat], { axis: 2, keepdims: 1, select_last_index: 0 }, { name: 'GlobalMaxPool_arg' });
    const count = spatialCount(ctx, X);
    const positions =
      typeof count === 'number' ? b.int64s(Array.from({ length: count }, (_, i) => i)) : b.op('Range', [b.int64Scalar(0), count, b.int64Scalar(1)]);
    const hit = b.op('Equal', [positions, arg], {}, { name: 'GlobalMaxPool_onehot' });
    const dY = b.op('Reshape', [ctx.dY()!, b.int64s([0, 0, 1])], {}, { name: 'GlobalMaxPool_dY' });
    const dX = b.op('Where', [hit, dY, scalarLike(ctx, X, 0)], {}, { name: 'GlobalMaxPool_dflat' });
    return { X: reshapeLike(b, dX, X, ctx.shape(X)) };
  },
};
