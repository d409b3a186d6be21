/** ReduceSumSquare: Y = Σ X², so dX = 2·X·dY. */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';
import { keepDims, reducedAxes } from './reduce-axes.js';

export const reduceSumSquareVjp: VjpRule = {
  opType: 'ReduceSumSquare',
  sinceVersion: 18,
  inputs: ['data', 'axes'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const axes = reducedAxes(ctx);
    const dY = keepDims(ctx, ctx.dY()!, axes);
    const twice = b.op('Mul', [dY, scalarLike(ctx, X, 2)]);
    return { data: b.op('Mul', [twice, X], {}, { name: 'ReduceSumSquare_dX' }), axes: null };
  },
};
