/** Expand: Y = broadcast(X, shape), so dX = dY summed over the broadcast axes. */
import type { VjpRule } from '../vjp-rule.js';

export const expandVjp: VjpRule = {
  opType: 'Expand',
  sinceVersion: 13,
  inputs: ['input', 'shape'],
  vjp: (ctx) => ({ input: ctx.unbroadcast(ctx.dY()!, ctx.input(0)), shape: null }),
};
