/** MaxPool: Y[w] = max_{i∈w} X[i], so dX[i] = Σ_w dY[w]·[i is the first maximum of w] (row-major; one winner per window, as PyTorch). */
import { DataType as DT, dataTypeName } from '../../onnx/dtypes.js';
import type { VjpContext, VjpRule } from '../vjp-rule.js';
import { dimParts, floatTensor, int64Vector, reshapeLike, zerosLike } from './common.js';
import { cropOrPad, poolWindow, type PoolWindow } from './pool-window.js';

/**
 * How the winners are found (timings: bench/maxpool-grad-speed.ts):
 * - 'indices': MaxPool runs again with its Indices output and dY is scattered with
 *   ScatterElements(add). Exact for any windows, but onnxruntime leaves its fast MaxPool for the
 *   Indices, and the scatter is slow too (together ~2.5× the cost of 'tiles').
 * - 'tiles': windows that do not overlap (kernel span ≤ stride). The number of cells before each
 *   window's first maximum is counted at output size from prefix maxima, each a Max of MaxPools
 *   with smaller kernels (below; strided Slices of the cells were 3× slower). X is laid on a grid
 *   of stride-sized tiles; that index and dY are upsampled with Resize (nearest), and the grid cell whose position in its
 *   tile matches the index takes dY. Only output-sized elementwise ops and two Resizes: no
 *   transposes, no ArgMax, no scatter (those were measured slower; see the bench).
 *   float32 only: onnxruntime's Resize has no double kernel.
 * - 'unpool': the same winners as 'tiles', but dY is routed to them by one MaxUnpool with flat
 *   indices built at output size (window origin + the winner's offset in its window), instead of
 *   two full-size Resizes, an Equal, a Cast and a Mul (about 3× less time for that routing).
 *   float32 only (onnxruntime's MaxUnpool kernel); planes of more than 2^24 cells take the Resize routing,
 *   since the offsets within a plane are summed in float32.
 * - 'auto': 'unpool' where it applies, else 'indices'.
 */
export type MaxPoolFormulation = 'auto' | 'indices' | 'tiles' | 'unpool';

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
      const use = formulation === 'auto' ? (disjoint && float32 ? 'unpool' : 'indices') : formulation;
      if (use === 'indices') return { X: viaIndices(ctx, dY) };
      if (!disjoint) ctx.unsupported(`formulation '${use}' with overlapping windows (kernel_shape [${w.kernel}], strides [${w.strides}])`);
      if (!float32) ctx.unsupported(`formulation '${use}' on ${dataTypeName(ctx.dataType(ctx.input(0)))} (it needs float32)`);
      return { X: viaTiles(ctx, dY, w, use === 'unpool') };
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

function viaTiles(ctx: VjpContext, dY: string, w: PoolWindow, unpool: boolean): string {
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
  // Padding (with -inf: it never wins) is made explicit only where the pool has some: the prefix pools
  // below have smaller kernels, and onnxruntime wants pads smaller than the kernel.
  const padded = w.padBegin.some((p) => p > 0) || tail.some((t) => t > 0);
  const source = padded ? cropOrPad(b, X, w.padBegin, tail, b.scalar(-Infinity, type), 'MaxPool_grid') : X;
  const sourceSize = padded ? gridSize : w.inSize;

  // The number of cells before the first maximum, n = Σ_p [P_p < Y], from the prefix maxima P_p (the max
  // over cells 0…p in row-major order, non-decreasing in p). Each prefix is a union of rectangles anchored at
  // the window's origin, so each P_p is a Max of MaxPools with smaller kernels: fast kernels that read X in
  // the layout the forward pool read it, where strided Slices of X were 3× slower.
  const cells = k.reduce((a, c) => a * c, 1);
  const pools = new Map<string, string>();
  const rectangleMax = (extent: readonly number[]): string => {
    const key = extent.join(',');
    let v = pools.get(key);
    if (!v) {
      v = b.op('MaxPool', [source], { kernel_shape: [...extent], strides: [...s], dilations: [...d] }, { name: 'MaxPool_prefix' });
      // A smaller kernel may fit one more window at the end of an axis: keep the first O.
      const count = sourceSize.map((n, i) => Math.floor((n - (extent[i]! - 1) * d[i]! - 1) / s[i]!) + 1);
      if (count.some((c, i) => c !== O[i]))
        v = b.op('Slice', [v, b.int64s(new Array<number>(r).fill(0)), b.int64s(O), b.int64s(axes)], {}, { name: 'MaxPool_prefix_crop' });
      pools.set(key, v);
    }
    return v;
  };
  const below: string[] = [];
  for (let p = 0; p < cells - 1; p++) {
    const index = new Array<number>(r);
    for (let i = r - 1, rest = p; i >= 0; rest = Math.floor(rest / k[i]!), i--) index[i] = rest % k[i]!;
    const rectangles: number[][] = [];
    for (let t = 0; t < r; t++) {
      if (index[t] === 0) continue;
      rectangles.push([...index.slice(0, t).map((c) => c + 1), index[t]!, ...k.slice(t + 1)]);
    }
    rectangles.push(index.map((c) => c + 1));
    const maxima = rectangles.map(rectangleMax);
    const prefix = maxima.length === 1 ? maxima[0]! : b.op('Max', maxima, {}, { name: 'MaxPool_prefix_max' });
    below.push(b.op('Cast', [b.op('Less', [prefix, ctx.output(0)])], { to: type }, { name: 'MaxPool_below' }));
  }

  const [begin, end] = [w.padBegin.map((p) => -p), tail.map((t) => -t)];
  // Offsets within a plane are summed in float32, exact only below 2^24 cells: larger planes take the Resize route.
  const exactInFloat32 = gridSize.reduce((a, z) => a * z, 1) <= 2 ** 24;
  const dGrid = unpool && exactInFloat32 ? routeByUnpool(ctx, dY, below, w, gridSize) : routeByResize(ctx, dY, below, w, gridSize);
  return cropOrPad(b, dGrid, begin, end, null, 'MaxPool_dX');
}

/**
 * dY to the winners by upsampling and a mask. `below[p]` is [P_p < Y]: 1 where the window's first maximum
 * comes after cell p, so their sum counts the cells before it.
 */
function routeByResize(ctx: VjpContext, dY: string, below: readonly string[], w: PoolWindow, gridSize: readonly number[]): string {
  const { b } = ctx;
  const first = below.length === 0 ? null : below.length === 1 ? below[0]! : b.op('Sum', below, {}, { name: 'MaxPool_first' });
  const type = ctx.dataType(ctx.input(0));
  const { strides: s, kernel: k, dilations: d } = w;
  const r = k.length;
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
  return b.op('Mul', [hit, upsample(dY)], {}, { name: 'MaxPool_dgrid' });
}

/**
 * dY to the winners by one MaxUnpool: each window's winner as a flat index into the (N, C, grid…)
 * tensor, (n·C + c)·|grid| + the window's origin + the winner's offset from it, built at output size.
 */
function routeByUnpool(ctx: VjpContext, dY: string, below: readonly string[], w: PoolWindow, gridSize: readonly number[]): string {
  const { b } = ctx;
  const type = ctx.dataType(ctx.input(0));
  const { strides: s, kernel: k, dilations: d, outSize: O } = w;
  const r = k.length;
  const gridStride = gridSize.map((_, i) => gridSize.slice(i + 1).reduce((a, c) => a * c, 1));
  const cells = k.reduce((a, c) => a * c, 1);
  // Σ_i digit_i·step_i·gridStride_i over the row-major digits of `flat` in a box of `sizes`: a grid offset.
  const gridOffset = (flat: number, sizes: readonly number[], step: readonly number[]): number => {
    let offset = 0;
    for (let i = r - 1, rest = flat; i >= 0; rest = Math.floor(rest / sizes[i]!), i--) offset += (rest % sizes[i]!) * step[i]! * gridStride[i]!;
    return offset;
  };
  const cellOffset = Array.from({ length: cells }, (_, p) => gridOffset(p, k, d));
  const origin = Array.from({ length: O.reduce((a, c) => a * c, 1) }, (_, flat) => gridOffset(flat, O, s));
  // The winner's offset is Σ_p [P_p < Y]·(offset of cell p+1 − offset of cell p) over the prefix indicators (a
  // Gather from a table of offsets by the winner's number was 10× slower); with the window's origin it stays
  // below a plane's size, exact in float32 (the caller keeps planes under 2^24 cells), and becomes int64
  // before the planes are added.
  const terms = below.map((v, p) => {
    const step = cellOffset[p + 1]! - cellOffset[p]!;
    return step === 1 ? v : b.op('Mul', [v, floatTensor(b, type, [], [step])], {}, { name: 'MaxPool_winner_step' });
  });
  const withinPlane = b.op('Sum', [...terms, floatTensor(b, type, [1, 1, ...O], origin)], {}, { name: 'MaxPool_winner_offset' });
  let index = b.op('Cast', [withinPlane], { to: DT.INT64 }, { name: 'MaxPool_winner_index' });
  // The (n, c) planes' first flat indices, n·C + c counted by a Range over N·C.
  const [n, c] = dimParts(b, ctx.output(0), ctx.shape(ctx.output(0)).slice(0, 2));
  const planes = int64Vector(b, [n!, c!]);
  const count = b.op('ReduceProd', [planes], { keepdims: 0 }, { name: 'MaxPool_planes' });
  const plane = b.op('Range', [b.int64Scalar(0), count, b.int64Scalar(1)], {}, { name: 'MaxPool_plane' });
  const planeShape = int64Vector(b, [n!, c!, ...new Array<number>(r).fill(1)]);
  const planeBase = b.op('Mul', [b.op('Reshape', [plane, planeShape]), b.int64Scalar(gridSize.reduce((a, z) => a * z, 1))], {}, { name: 'MaxPool_plane_base' });
  index = b.op('Add', [index, planeBase], {}, { name: 'MaxPool_unpool_index' });
  // kernel = strides and no pads: MaxUnpool's own output size is then O·s per axis, the grid.
  return b.op('MaxUnpool', [dY, index], { kernel_shape: [...s], strides: [...s] }, { name: 'MaxPool_unpool' });
}
