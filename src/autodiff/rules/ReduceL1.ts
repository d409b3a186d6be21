/** ReduceL1: Y = Σ |X|, so dX = sign(X)·dY (0 at X = 0, as PyTorch). */
import type { VjpRule } from '../vjp-rule.js';
import { keepDims, reducedAxes } from './reduce-axes.js';

export const reduceL1Vjp: VjpRule = {
  opType: 'ReduceL1',
  sinceVersion: 18,
  inputs: ['data', 'axes'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const dY = keepDims(ctx, ctx.dY()!, reducedAxes(ctx));
    return { data: b.op('Mul', [b.op('Sign', [X]), dY], {}, { name: 'ReduceL1_dX' }), axes: null };
  },
};
