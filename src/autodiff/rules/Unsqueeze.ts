/** Unsqueeze: dX = reshape(dY, shape(X)). */
import type { VjpRule } from '../vjp-rule.js';
import { reshapeLike } from './common.js';

export const unsqueezeVjp: VjpRule = {
  opType: 'Unsqueeze',
  sinceVersion: 13,
  inputs: ['data', 'axes'],
  vjp: (ctx) => ({ data: reshapeLike(ctx.b, ctx.dY()!, ctx.input(0), ctx.shape(ctx.input(0))), axes: null }),
};
