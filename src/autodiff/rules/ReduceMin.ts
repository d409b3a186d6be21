/** ReduceMin: dX = dY at the minimum (first one over a single axis, ties shared over several axes). */
import type { VjpRule } from '../vjp-rule.js';
import { extremumVjp } from './reduce-extremum.js';

export const reduceMinVjp: VjpRule = {
  opType: 'ReduceMin',
  sinceVersion: 18,
  inputs: ['data', 'axes'],
  vjp: (ctx) => extremumVjp(ctx, 'ArgMin'),
};
