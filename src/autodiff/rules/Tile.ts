/** Tile: Y = X repeated r_d times along each axis d, so dX = Σ over the copies (reshape to [r_d, n_d] pairs, ReduceSum the r_d axes). */
import type { VjpContext, VjpRule } from '../vjp-rule.js';
import { dimOf, int64Vector } from './common.js';

export const tileVjp: VjpRule = {
  opType: 'Tile',
  sinceVersion: 13,
  inputs: ['input', 'repeats'],
  vjp(ctx: VjpContext) {
    const { b } = ctx;
    const X = ctx.input(0);
    const repeats = ctx.constant(ctx.input(1));
    if (!repeats) ctx.unsupported('repeats computed from the data at run time');
    const dY = ctx.dY()!;
    if (repeats.every((r) => r === 1)) return { input: dY, repeats: null };
    const dims: (number | string)[] = [];
    const copyAxes: number[] = [];
    ctx.shape(X).forEach((n, d) => {
      if (repeats[d] !== 1) {
        copyAxes.push(dims.length);
        dims.push(repeats[d]!);
      }
      dims.push(n ?? dimOf(b, X, d));
    });
    const split = b.op('Reshape', [dY, int64Vector(b, dims)], {}, { name: 'Tile_copies' });
    return { input: b.op('ReduceSum', [split, b.int64s(copyAxes)], { keepdims: 0 }, { name: 'Tile_dX' }), repeats: null };
  },
};
