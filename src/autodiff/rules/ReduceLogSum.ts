/** ReduceLogSum: Y = log Σ X, so dX = dY / Σ X = dY·exp(−Y). */
import { shapeOf } from './common.js';
import { reductionRule } from './reduce-axes.js';

export const reduceLogSumVjp = reductionRule('ReduceLogSum', 18, (ctx, { X, dY, Y }) => {
  const { b } = ctx;
  const share = b.op('Mul', [dY, b.op('Exp', [b.op('Neg', [Y()])])], {}, { name: 'ReduceLogSum_share' });
  return b.op('Expand', [share, shapeOf(b, X, ctx.shape(X))], {}, { name: 'ReduceLogSum_dX' });
});
