/** ReduceL2: Y = √(Σ X²), so dX = X·dY / Y (0 where Y = 0, the minimum-norm subgradient). */
import { scalarLike } from './common.js';
import { reductionRule } from './reduce-axes.js';

export const reduceL2Vjp = reductionRule('ReduceL2', 18, (ctx, { X, dY, Y }) => {
  const { b } = ctx;
  // Where Y = 0 every X is 0 too, so dividing by 1 there gives the 0 subgradient without a NaN.
  const norm = Y();
  const safe = b.op('Where', [b.op('Equal', [norm, scalarLike(ctx, X, 0)]), scalarLike(ctx, X, 1), norm], {}, { name: 'ReduceL2_norm' });
  return b.op('Mul', [X, b.op('Div', [dY, safe])], {}, { name: 'ReduceL2_dX' });
});
