/** MaxPool: Y[w] = max_{i∈w} X[i], so dX[i] = Σ_w dY[w]·[i is the first maximum of w] (row-major; one winner per window, as PyTorch). */
import { DataType as DT, dataTypeName } from '../../onnx/dtypes.js';
import type { VjpContext, VjpRule } from '../vjp-rule.js';
import { floatTensor, reshapeLike, zerosLike } from './common.js';
import { cropOrPad, poolWindow, type PoolWindow } from './pool-window.js';

/**
 * How the winners are found (timings: bench/maxpool-grad-speed.ts):
 * - 'indices': MaxPool runs again with its Indices output and dY is scattered with
 *   ScatterElements(add). Exact for any windows, but onnxruntime leaves its fast MaxPool for the
 *   Indices, and the scatter is slow too (together ~2.5× the cost of 'tiles').
 * - 'tiles': windows that do not overlap (kernel span ≤ stride). X is laid on a grid of
 *   stride-sized tiles; each window cell but the last is cut out with a strided Slice and compared
 *   with Y, and n₀(1 + n₁(1 + …)), n_p = [cell p < Y], counts the cells before the first maximum.
 *   That index and dY are upsampled with Resize (nearest), and the grid cell whose position in its
 *   tile matches the index takes dY. Only output-sized elementwise ops and two Resizes: no
 *   transposes, no ArgMax, no scatter (those were measured slower; see the bench).
 *   float32 only: onnxruntime's Resize has no double kernel.
 * - 'auto': 'tiles' where it applies, else 'indices'.
 */
export type MaxPoolFormulation = 'auto' | 'indices' | 'tiles';

export function maxPoolVjpWith(formulation: MaxPoolFormulation): VjpRule {
  return {
    opType: 'MaxPool',
    sinceVersion: 12,
    inputs: ['X'],
    vjp(ctx) {
      const dY = ctx.dY(0);
      if (!dY || !ctx.needsGrad(0)) return { X: null };
      const w = poolWindow(ctx);
      const disjoint = w.kernel.every((k, i) => (k - 1) * w.dilations[i]! + 1 <= w.strides[i]!);
      const float32 = ctx.dataType(ctx.input(0)) === DT.FLOAT;
      const use = formulation === 'auto' ? (disjoint && float32 ? 'tiles' : 'indices') : formulation;
      if (use === 'tiles' && !disjoint) ctx.unsupported(`formulation 'tiles' with overlapping windows (kernel_shape [${w.kernel}], strides [${w.strides}])`);
      if (use === 'tiles' && !float32) ctx.unsupported(`formulation 'tiles' on ${dataTypeName(ctx.dataType(ctx.input(0)))} (it needs float32)`);
      return { X: use === 'tiles' ? viaTiles(ctx, dY, w) : viaIndices(ctx, dY) };
    },
  };
}

export const maxPoolVjp: VjpRule = maxPoolVjpWith('auto');

function viaIndices(ctx: VjpContext, dY: string): string {
  const { b, node } = ctx;
  const X = ctx.input(0);
  // Reuse the forward Indices when the model already asks for them in row-major order.
  let indices = node.outputs[1] && ctx.attrs.int('storage_order', 0) === 0 ? node.outputs[1] : '';
  if (!indices) {
    const attrs = Object.fromEntries(node.attributes.map((a) => [a.name, a]));
    indices = b.node('MaxPool', [X], { ...attrs, storage_order: 0 }, { outputs: 2, name: 'MaxPool_indices' })[1]!;
  }
  // Indices address the flattened (N, C, spatial…) input, so one 1-D scatter covers the batch.
  const flat = b.int64s([-1]);
  const target = b.op('Reshape', [zerosLike(ctx, X), flat], {}, { name: 'MaxPool_zeros' });
  const scattered = b.op(
    'ScatterElements',
    [target, b.op('Reshape', [indices, flat]), b.op('Reshape', [dY, flat])],
    { axis: 0, reduction: 'add' }, // overlapping windows may share a winner
    { name: 'MaxPool_scatter' },
  );
  return reshapeLike(b, scattered, X, ctx.shape(X));
}

function viaTiles(ctx: VjpContext, dY: string, w: PoolWindow): string {
  const { b } = ctx;
  const X = ctx.input(0);
  const type = ctx.dataType(X);
  const { outSize: O, strides: s, kernel: k, dilations: d } = w;
  const r = k.length;
  const axes = Array.from({ length: r }, (_, i) => i + 2);
  // Lay X over a grid of O·s cells per axis: pad with -inf (padding never wins, as in MaxPool) or
  // crop the remainder no window reaches.
  const gridSize = O.map((o, i) => o * s[i]!);
  const tail = w.inSize.map((n, i) => gridSize[i]! - w.padBegin[i]! - n);
  const grid = cropOrPad(b, X, w.padBegin, tail, b.scalar(-Infinity, type), 'MaxPool_grid');

  // Window cells in row-major order, as offsets within a tile.
  let offsets: number[][] = [[]];
  for (let i = 0; i < r; i++) offsets = offsets.flatMap((o) => Array.from({ length: k[i]! }, (_, j) => [...o, j * d[i]!]));
  const one = b.scalar(1, type);
  const below = offsets.slice(0, -1).map((off) => {
    const cell = b.op('Slice', [grid, b.int64s(off), b.int64s(gridSize), b.int64s(axes), b.int64s(s)], {}, { name: 'MaxPool_cell' });
    return b.op('Cast', [b.op('Greater', [ctx.output(0), cell])], { to: type }, { name: 'MaxPool_below' });
  });
  // Horner form of Σ_p Π_{q≤p} n_q: the number of cells before the first maximum.
  let first: string | null = below[below.length - 1] ?? null;
  for (let p = below.length - 2; p >= 0; p--) first = b.op('Mul', [below[p]!, b.op('Add', [first!, one])], {}, { name: 'MaxPool_first' });

  // Each grid cell's index in its window's row-major order; -1 off the window (stride > span, dilation gaps).
  const cellIndex = Array.from({ length: gridSize.reduce((a, c) => a * c, 1) }, (_, flat) => {
    let index = 0;
    for (let i = r - 1, rest = flat, weight = 1; i >= 0; i--) {
      const o = (rest % gridSize[i]!) % s[i]!;
      rest = Math.floor(rest / gridSize[i]!);
      if (o % d[i]! !== 0 || o / d[i]! >= k[i]!) return -1;
      index += (o / d[i]!) * weight;
      weight *= k[i]!;
    }
    return index;
  });
  const pattern = floatTensor(b, type, [1, 1, ...gridSize], cellIndex);
  const scales = b.constant(DT.FLOAT, [2 + r], Float32Array.from([1, 1, ...s]), 'scales');
  const upsample = (v: string): string =>
    b.op('Resize', [v, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, { name: 'MaxPool_upsample' });
  const winner = first ? upsample(first) : b.scalar(0, type); // a one-cell window is its own winner
  const hit = b.op('Cast', [b.op('Equal', [winner, pattern])], { to: type }, { name: 'MaxPool_hit' });
  const dGrid = b.op('Mul', [hit, upsample(dY)], {}, { name: 'MaxPool_dgrid' });
  const [begin, end] = [w.padBegin.map((p) => -p), tail.map((t) => -t)];
  return cropOrPad(b, dGrid, begin, end, null, 'MaxPool_dX');
}
