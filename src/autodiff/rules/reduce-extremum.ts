/**
 * Shared by ReduceMax and ReduceMin: the gradient goes to the extremum. Over one axis it goes to
 * the first extremum (as PyTorch's max(dim)/min(dim)); over several axes it is shared equally
 * between tied extrema (as amax/amin), so Σ dX = dY either way.
 */
import type { VjpContext } from '../vjp-rule.js';
import { shapeOf } from './common.js';
import type { Reduction } from './reduce-axes.js';

export function extremumDx(ctx: VjpContext, { X, axes, dY, Y }: Reduction, arg: 'ArgMax' | 'ArgMin'): string {
  const { b } = ctx;
  const op = ctx.node.opType;
  const type = ctx.dataType(X);
  if (axes && axes.length === 0) return dY;
  const shape = ctx.shape(X);
  if (axes && axes.length === 1) {
    const axis = axes[0]!;
    const size = shape[axis];
    if (size !== null && size !== undefined) {
      const at = b.op(arg, [X], { axis, keepdims: 1, select_last_index: 0 }, { name: `${op}_arg` });
      const positions = b.int64s(
        Array.from({ length: size }, (_, i) => i),
        shape.map((_, i) => (i === axis ? size : 1)),
      );
      const hit = b.op('Cast', [b.op('Equal', [positions, at])], { to: type }, { name: `${op}_onehot` });
      return b.op('Mul', [hit, dY], {}, { name: `${op}_dX` });
    }
  }
  const mask = b.op('Cast', [b.op('Equal', [X, Y()])], { to: type }, { name: `${op}_mask` });
  const count = b.op('ReduceSum', axes ? [mask, b.int64s(axes)] : [mask], { keepdims: 1 }, { name: `${op}_count` });
  const share = b.op('Div', [dY, count]);
  return b.op('Mul', [mask, b.op('Expand', [share, shapeOf(b, X, shape)])], {}, { name: `${op}_dX` });
}
