/** ReduceLogSumExp: Y = log Σ exp X, so dX = dY·exp(X − Y) (the softmax over the reduced axes). */
import { reductionRule } from './reduce-axes.js';

export const reduceLogSumExpVjp = reductionRule('ReduceLogSumExp', 18, ({ b }, { X, dY, Y }) => {
  // exp(X − Y) ≤ 1, so this never overflows where exp(X) would.
  const softmax = b.op('Exp', [b.op('Sub', [X, Y()])], {}, { name: 'ReduceLogSumExp_softmax' });
  return b.op('Mul', [softmax, dY], {}, { name: 'ReduceLogSumExp_dX' });
});
