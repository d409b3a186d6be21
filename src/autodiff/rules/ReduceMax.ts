/** ReduceMax: dX = dY at the maximum (first one over a single axis, ties shared over several axes). */
import type { VjpRule } from '../vjp-rule.js';
import { extremumVjp } from './reduce-extremum.js';

export const reduceMaxVjp: VjpRule = {
  opType: 'ReduceMax',
  sinceVersion: 18,
  inputs: ['data', 'axes'],
  vjp: (ctx) => extremumVjp(ctx, 'ArgMax'),
};
