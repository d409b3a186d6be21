/**
 * ReduceMax: the gradient goes to the maximum. Over one axis it goes to the first maximum (as
 * PyTorch's max(dim)); over several axes it is shared equally between tied maxima (as amax).
 */
import type { VjpRule } from '../vjp-rule.js';
import { shapeOf } from './common.js';
import { keepDims, reducedAxes } from './reduce-axes.js';

export const reduceMaxVjp: VjpRule = {
  opType: 'ReduceMax',
  sinceVersion: 18,
  inputs: ['data', 'axes'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const type = ctx.dataType(X);
    const axes = reducedAxes(ctx);
    const dY = keepDims(ctx, ctx.dY()!, axes);
    if (axes && axes.length === 0) return { data: dY, axes: null };
    const shape = ctx.shape(X);
    if (axes && axes.length === 1) {
      const axis = axes[0]!;
      const arg = b.op('ArgMax', [X], { axis, keepdims: 1, select_last_index: 0 }, { name: 'ReduceMax_arg' });
      const size = shape[axis];
      const positions =
        size !== null && size !== undefined
          ? b.int64s(Array.from({ length: size }, (_, i) => i), shape.map((_, i) => (i === axis ? size : 1)))
          : null;
      if (positions) {
        const hit = b.op('Cast', [b.op('Equal', [positions, arg])], { to: type }, { name: 'ReduceMax_onehot' });
        return { data: b.op('Mul', [hit, dY], {}, { name: 'ReduceMax_dX' }), axes: null };
      }
    }
    const m = keepDims(ctx, ctx.output(0), axes);
    const mask = b.op('Cast', [b.op('Equal', [X, m])], { to: type }, { name: 'ReduceMax_mask' });
    const count = b.op('ReduceSum', axes ? [mask, b.int64s(axes)] : [mask], { keepdims: 1 }, { name: 'ReduceMax_count' });
    const share = b.op('Div', [dY, count]);
    const dX = b.op('Mul', [mask, b.op('Expand', [share, shapeOf(b, X, shape)])], {}, { name: 'ReduceMax_dX' });
    return { data: dX, axes: null };
  },
};
