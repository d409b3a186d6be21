/**
 * Gather: Y[pre, j…, post] = X[pre, idx[j…], post], so dX = zeros with dY added at the gathered
 * positions (indices may repeat, so the scatter accumulates).
 */
import { DataType as DT } from '../../onnx/dtypes.js';
import type { VjpRule } from '../vjp-rule.js';
import { dimOf, dimParts, int64Vector, normalizeAxis, zerosLike } from './common.js';

export const gatherVjp: VjpRule = {
  opType: 'Gather',
  sinceVersion: 13,
  inputs: ['data', 'indices'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const xShape = ctx.shape(X);
    const rank = xShape.length;
    const axis = normalizeAxis(ctx.attrs.int('axis', 0), rank);
    const dY = ctx.dY()!;

    let idx = ctx.input(1);
    if (ctx.dataType(idx) !== DT.INT64) idx = b.op('Cast', [idx], { to: DT.INT64 }, { name: 'Gather_idx' });
    const known = ctx.constant(ctx.input(1));
    if (!known || known.some((v) => v < 0)) {
      // Negative indices count from the end; make them explicit so the scatter reads them right.
      // Scalars (rank 0), so that a scalar index stays a scalar.
      const n = xShape[axis] !== null ? b.int64Scalar(xShape[axis]!) : b.op('Squeeze', [dimOf(b, X, axis), b.int64s([0])]);
      const wrapped = b.op('Add', [idx, n]);
      idx = b.op('Where', [b.op('Less', [idx, b.int64Scalar(0)]), wrapped, idx], {}, { name: 'Gather_idx' });
    }

    const zeros = zerosLike(ctx, X);
    if (axis === 0) {
      // X's rows are addressed by idx: ScatterND with updates shaped exactly like dY.
      const rows = b.op('Unsqueeze', [idx, b.int64s([-1])], {}, { name: 'Gather_rows' });
      return { data: b.op('ScatterND', [zeros, rows, dY], { reduction: 'add' }, { name: 'Gather_dX' }), indices: null };
    }
    // Inner axis: flatten the index dims of dY into one and scatter element-wise along `axis`.
    const post = rank - axis - 1;
    const flatShape = dimParts(
      b,
      X,
      xShape.map((d, i) => (i === axis ? -1 : d)),
    );
    const updates = b.op('Reshape', [dY, int64Vector(b, flatShape)], {}, { name: 'Gather_updates' });
    const lined = b.op('Reshape', [idx, b.int64s([...new Array<number>(axis).fill(1), -1, ...new Array<number>(post).fill(1)])], {}, { name: 'Gather_idx' });
    const spread = b.op('Expand', [lined, b.op('Shape', [updates])], {}, { name: 'Gather_idx' });
    return { data: b.op('ScatterElements', [zeros, spread, updates], { axis, reduction: 'add' }, { name: 'Gather_dX' }), indices: null };
  },
};
