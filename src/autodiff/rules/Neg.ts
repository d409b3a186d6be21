/** Neg: dX = −dY. */
import type { VjpRule } from '../vjp-rule.js';

export const negVjp: VjpRule = {
  opType: 'Neg',
  sinceVersion: 13,
  inputs: ['X'],
  vjp: (ctx) => ({ X: ctx.b.op('Neg', [ctx.dY()!], {}, { name: 'Neg_dX' }) }),
};
