/** GlobalMaxPool: Y[n,c] = max over the spatial axes of X[n,c]; dX puts dY on the first maximum (row-major), as MaxPool does. */
import type { VjpRule } from '../vjp-rule.js';
import { isStatic, type Shape, reshapeLike, scalarLike } from './common.js';

export const globalMaxPoolVjp: VjpRule = {
  opType: 'GlobalMaxPool',
  sinceVersion: 1,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const shape = ctx.shape(X);
    const spatial: Shape = shape.slice(2);
    const flat = b.op('Reshape', [X, b.int64s([0, 0, -1])], {}, { name: 'GlobalMaxPool_flat' });
    const arg = b.op('ArgMax', [flat], { axis: 2, keepdims: 1, select_last_index: 0 }, { name: 'GlobalMaxPool_arg' });
    const positions = isStatic(spatial)
      ? b.int64s(Array.from({ length: spatial.reduce((a, c) => a * c, 1) }, (_, i) => i))
      : b.op('Range', [b.int64Scalar(0), b.op('ReduceProd', [b.op('Shape', [X], { start: 2 })], { keepdims: 0 }), b.int64Scalar(1)]);
    const hit = b.op('Equal', [positions, arg], {}, { name: 'GlobalMaxPool_onehot' });
    const dY = b.op('Reshape', [ctx.dY()!, b.int64s([0, 0, 1])], {}, { name: 'GlobalMaxPool_dY' });
    const dX = b.op('Where', [hit, dY, scalarLike(ctx, X, 0)], {}, { name: 'GlobalMaxPool_dflat' });
    return { X: reshapeLike(b, dX, X, shape) };
  },
};
