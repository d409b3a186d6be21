/** TopK: the values' gradient is scattered back to the selected positions; indices carry none. */
import type { VjpRule } from '../vjp-rule.js';
import { zerosLike } from './common.js';

export const topKVjp: VjpRule = {
  opType: 'TopK',
  sinceVersion: 11,
  inputs: ['X', 'K'],
  vjp(ctx) {
    const dValues = ctx.dY(0);
    if (!dValues) return { X: null, K: null };
    const axis = ctx.attrs.int('axis', -1);
    const zeros = zerosLike(ctx, ctx.input(0));
    // Indices within one slice are distinct, so no accumulation is needed.
    return { X: ctx.b.op('ScatterElements', [zeros, ctx.output(1), dValues], { axis }, { name: 'TopK_dX' }), K: null };
  },
};
