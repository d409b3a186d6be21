/** ReduceLogSumExp: Y = log Σ exp X, so dX = dY·exp(X − Y) (the softmax over the reduced axes). */
import type { VjpRule } from '../vjp-rule.js';
import { keepDims, reducedAxes } from './reduce-axes.js';

export const reduceLogSumExpVjp: VjpRule = {
  opType: 'ReduceLogSumExp',
  sinceVersion: 18,
  inputs: ['data', 'axes'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const axes = reducedAxes(ctx);
    const dY = keepDims(ctx, ctx.dY()!, axes);
    const Y = keepDims(ctx, ctx.output(0), axes);
    // exp(X − Y) ≤ 1, so this never overflows where exp(X) would.
    const softmax = b.op('Exp', [b.op('Sub', [X, Y])], {}, { name: 'ReduceLogSumExp_softmax' });
    return { data: b.op('Mul', [softmax, dY], {}, { name: 'ReduceLogSumExp_dX' }), axes: null };
  },
};
