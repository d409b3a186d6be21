/** ReduceL2: Y = √(Σ X²), so dX = X·dY / Y (0 where Y = 0, the minimum-norm subgradient). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';
import { keepDims, reducedAxes } from './reduce-axes.js';

export const reduceL2Vjp: VjpRule = {
  opType: 'ReduceL2',
  sinceVersion: 18,
  inputs: ['data', 'axes'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const axes = reducedAxes(ctx);
    const dY = keepDims(ctx, ctx.dY()!, axes);
    const Y = keepDims(ctx, ctx.output(0), axes);
    // Where Y = 0 every X is 0 too, so dividing by 1 there gives the 0 subgradient without a NaN.
    const zero = scalarLike(ctx, X, 0);
    const safe = b.op('Where', [b.op('Equal', [Y, zero]), scalarLike(ctx, X, 1), Y], {}, { name: 'ReduceL2_norm' });
    const ratio = b.op('Div', [dY, safe]);
    return { data: b.op('Mul', [X, ratio], {}, { name: 'ReduceL2_dX' }), axes: null };
  },
};
