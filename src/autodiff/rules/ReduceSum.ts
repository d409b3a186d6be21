/** ReduceSum: dX = expand(dY with kept dims, shape(X)). */
import type { VjpRule } from '../vjp-rule.js';
import { shapeOf } from './common.js';
import { keepDims, reducedAxes } from './reduce-axes.js';

export const reduceSumVjp: VjpRule = {
  opType: 'ReduceSum',
  sinceVersion: 13,
  inputs: ['data', 'axes'],
  vjp(ctx) {
    const X = ctx.input(0);
    const axes = reducedAxes(ctx);
    const dY = keepDims(ctx, ctx.dY()!, axes);
    return { data: ctx.b.op('Expand', [dY, shapeOf(ctx.b, X, ctx.shape(X))], {}, { name: 'ReduceSum_dX' }), axes: null };
  },
};
