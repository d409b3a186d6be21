/** GatherElements: dX = ScatterElements(zeros(X), indices, dY, reduction=add) (indices may repeat). */
import type { VjpRule } from '../vjp-rule.js';
import { zerosLike } from './common.js';

export const gatherElementsVjp: VjpRule = {
  opType: 'GatherElements',
  sinceVersion: 13,
  inputs: ['data', 'indices'],
  vjp(ctx) {
    const axis = ctx.attrs.int('axis', 0);
    const zeros = zerosLike(ctx, ctx.input(0));
    return {
      data: ctx.b.op('ScatterElements', [zeros, ctx.input(1), ctx.dY()!], { axis, reduction: 'add' }, { name: 'GatherElements_dX' }),
      indices: null,
    };
  },
};
