/** ReduceSumSquare: Y = Σ X², so dX = 2·X·dY. */
import { scalarLike } from './common.js';
import { reductionRule } from './reduce-axes.js';

export const reduceSumSquareVjp = reductionRule('ReduceSumSquare', 18, (ctx, { X, dY }) =>
  ctx.b.op('Mul', [ctx.b.op('Mul', [dY, scalarLike(ctx, X, 2)]), X], {}, { name: 'ReduceSumSquare_dX' }),
);
