/** ReduceSum: dX = expand(dY with kept dims, shape(X)). */
import { shapeOf } from './common.js';
import { reductionRule } from './reduce-axes.js';

export const reduceSumVjp = reductionRule('ReduceSum', 13, (ctx, { X, dY }) =>
  ctx.b.op('Expand', [dY, shapeOf(ctx.b, X, ctx.shape(X))], {}, { name: 'ReduceSum_dX' }),
);
