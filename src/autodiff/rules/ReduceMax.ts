/** ReduceMax: dX = dY at the maximum (first one over a single axis, ties shared over several axes). */
import { extremumDx } from './reduce-extremum.js';
import { reductionRule } from './reduce-axes.js';

export const reduceMaxVjp = reductionRule('ReduceMax', 18, (ctx, r) => extremumDx(ctx, r, 'ArgMax'));
