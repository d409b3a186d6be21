/** CastLike(input, target_type): dInput = dY cast back to input's type; target_type only lends its type. */
import type { VjpRule } from '../vjp-rule.js';

export const castLikeVjp: VjpRule = {
  opType: 'CastLike',
  sinceVersion: 15,
  inputs: ['input', 'target_type'],
  vjp: (ctx) => ({
    input: ctx.needsGrad(0) ? ctx.b.op('Cast', [ctx.dY()!], { to: ctx.dataType(ctx.input(0)) }, { name: 'CastLike_dX' }) : null,
    target_type: null,
  }),
};
