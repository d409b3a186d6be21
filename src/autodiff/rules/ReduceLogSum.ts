/** ReduceLogSum: Y = log Σ X, so dX = dY / Σ X = dY·exp(−Y). */
import type { VjpRule } from '../vjp-rule.js';
import { shapeOf } from './common.js';
import { keepDims, reducedAxes } from './reduce-axes.js';

export const reduceLogSumVjp: VjpRule = {
  opType: 'ReduceLogSum',
  sinceVersion: 18,
  inputs: ['data', 'axes'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const axes = reducedAxes(ctx);
    const dY = keepDims(ctx, ctx.dY()!, axes);
    const Y = keepDims(ctx, ctx.output(0), axes);
    const share = b.op('Mul', [dY, b.op('Exp', [b.op('Neg', [Y])])], {}, { name: 'ReduceLogSum_share' });
    return { data: b.op('Expand', [share, shapeOf(b, X, ctx.shape(X))], {}, { name: 'ReduceLogSum_dX' }), axes: null };
  },
};
