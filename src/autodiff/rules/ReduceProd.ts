/**
 * ReduceProd: Y = Π X, so dX_i = dY·Π_{j≠i} X_j. Computed without dividing by X_i: with z zeros in
 * the reduced group, it is P/X_i for z = 0, P (product of the non-zeros) at the zero for z = 1,
 * and 0 otherwise.
 */
import { DataType as DT } from '../../onnx/dtypes.js';
import { scalarLike } from './common.js';
import { reductionRule } from './reduce-axes.js';

export const reduceProdVjp = reductionRule('ReduceProd', 18, (ctx, { X, axes, dY }) => {
  const { b } = ctx;
  if (axes && axes.length === 0) return dY;
  const axesInput = axes ? [b.int64s(axes)] : [];
  const zero = scalarLike(ctx, X, 0);
  const one = scalarLike(ctx, X, 1);
  const isZero = b.op('Equal', [X, zero], {}, { name: 'ReduceProd_zero' });
  const nonZero = b.op('Where', [isZero, one, X]);
  const p = b.op('ReduceProd', [nonZero, ...axesInput], { keepdims: 1 }, { name: 'ReduceProd_nonzero' });
  const zeros = b.op('ReduceSum', [b.op('Cast', [isZero], { to: DT.INT64 }), ...axesInput], { keepdims: 1 }, { name: 'ReduceProd_zeros' });
  const others = b.op(
    'Where',
    [b.op('Equal', [zeros, b.int64s([0])]), b.op('Div', [p, nonZero]), b.op('Where', [b.op('And', [b.op('Equal', [zeros, b.int64s([1])]), isZero]), p, zero])],
    {},
    { name: 'ReduceProd_others' },
  );
  return b.op('Mul', [others, dY], {}, { name: 'ReduceProd_dX' });
});
