/** Flatten: dX = reshape(dY, shape(X)). */
import type { VjpRule } from '../vjp-rule.js';
import { reshapeLike } from './common.js';

export const flattenVjp: VjpRule = {
  opType: 'Flatten',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    return { input: reshapeLike(ctx.b, ctx.dY()!, ctx.input(0), ctx.shape(ctx.input(0))) };
  },
};
