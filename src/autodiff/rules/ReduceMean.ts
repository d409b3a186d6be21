/** ReduceMean: Y = Σ X / count, so dX = expand(dY / count, shape(X)). */
import { scalarLike, shapeOf } from './common.js';
import { reductionRule } from './reduce-axes.js';

export const reduceMeanVjp = reductionRule('ReduceMean', 18, (ctx, { X, axes, dY }) => {
  const { b } = ctx;
  const shape = ctx.shape(X);
  if (axes && axes.length === 0) return dY;
  const reduced = (axes ?? shape.map((_, i) => i)).map((a) => shape[a]);
  let scale: string;
  if (reduced.every((d) => d !== null)) {
    scale = scalarLike(ctx, X, 1 / (reduced as number[]).reduce((p, d) => p * d, 1));
  } else {
    // The batch axis is reduced: count = |X| / |Y| at run time.
    const type = ctx.dataType(X);
    const sizeOf = (v: string): string => b.op('Cast', [b.op('Size', [v])], { to: type });
    scale = b.op('Div', [sizeOf(ctx.output(0)), sizeOf(X)], {}, { name: 'ReduceMean_scale' });
  }
  const scaled = b.op('Mul', [dY, scale], {}, { name: 'ReduceMean_share' });
  return b.op('Expand', [scaled, shapeOf(b, X, shape)], {}, { name: 'ReduceMean_dX' });
});
