/** ReduceMin: dX = dY at the minimum (first one over a single axis, ties shared over several axes). */
import { extremumDx } from './reduce-extremum.js';
import { reductionRule } from './reduce-axes.js';

export const reduceMinVjp = reductionRule('ReduceMin', 18, (ctx, r) => extremumDx(ctx, r, 'ArgMin'));
