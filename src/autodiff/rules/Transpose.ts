/** Transpose: Y = permute(X, perm), so dX = permute(dY, perm⁻¹). */
import type { VjpRule } from '../vjp-rule.js';

export const transposeVjp: VjpRule = {
  opType: 'Transpose',
  sinceVersion: 13,
  inputs: ['data'],
  vjp(ctx) {
    const rank = ctx.rank(ctx.input(0));
    const reversed = Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const perm = ctx.attrs.ints('perm', reversed);
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => {
      inverse[p] = i;
    });
    return { data: ctx.b.op('Transpose', [ctx.dY()!], { perm: inverse }, { name: 'Transpose_dX' }) };
  },
};
