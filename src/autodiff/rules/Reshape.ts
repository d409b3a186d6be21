/** Reshape: dX = reshape(dY, shape(X)). */
import type { VjpRule } from '../vjp-rule.js';
import { reshapeLike } from './common.js';

export const reshapeVjp: VjpRule = {
  opType: 'Reshape',
  sinceVersion: 14,
  inputs: ['data', 'shape'],
  vjp: (ctx) => ({ data: reshapeLike(ctx.b, ctx.dY()!, ctx.input(0), ctx.shape(ctx.input(0))), shape: null }),
};
