/** Split: dX = Concat of the outputs' gradients (zeros for outputs that do not reach the loss). */
import type { VjpRule } from '../vjp-rule.js';
import { dYOrZeros } from './common.js';

export const splitVjp: VjpRule = {
  opType: 'Split',
  sinceVersion: 18,
  inputs: ['input', 'split'],
  vjp(ctx) {
    const axis = ctx.attrs.int('axis', 0);
    const parts = ctx.node.outputs.map((_, i) => dYOrZeros(ctx, i));
    return { input: ctx.b.op('Concat', parts, { axis }, { name: 'Split_dX' }), split: null };
  },
};
