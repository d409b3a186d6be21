/**
 * Weight gradient of a (transposed) convolution as a correlation:
 * G[cb, ca, k] = Σ_{n,o} B[n, cb, o] · A_pad[n, ca, o·s + k·d]   (within each group).
 * For Conv, A = X and B = dY (G is dW, [M, C/g, k…]); for ConvTranspose, A = dY and B = X.
 */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { ConvGeometry } from './conv-geometry.js';

/**
 * Timings: bench/conv-grad-speed.ts (Madry MNIST CNN, batch 128, 2 threads).
 * 'gather': the columns [Ca, K, O·N] from one Gather over A laid out batch-innermost, then one
 *   MatMul per group. Fastest measured: a single write of the columns in runs of N values.
 * 'im2col': the columns [Ca, K, N·O] from one strided Slice per kernel offset and a Concat, then
 *   one MatMul per group (the columns are written twice).
 * 'conv': a Conv with the batch as channels (A as input, B as weights, strides ↔ dilations);
 *   onnxruntime runs it without its blocked layout, as the weights are not constant.
 */
export type WeightGradFormulation = 'gather' | 'im2col' | 'conv';

export interface CorrelationOperands {
  /** [N, Ca, D…], unpadded. */
  readonly a: string;
  readonly aChannels: number;
  readonly aDims: readonly number[];
  /** [N, Cb, O…]. */
  readonly bValue: string;
  readonly bChannels: number;
  readonly bDims: readonly number[];
}

export function weightGradient(b: GraphBuilder, ops: CorrelationOperands, geom: ConvGeometry, formulation: WeightGradFormulation): string {
  switch (formulation) {
    case 'gather':
      return viaGather(b, ops, geom);
    case 'im2col':
      return viaIm2col(b, ops, geom);
    case 'conv':
      return viaConv(b, ops, geom);
  }
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => i + from);
const prod = (xs: readonly number[]): number => xs.reduce((p, x) => p * x, 1);

/** Row-major kernel offset of flat kernel index `flat`. */
function kernelOffset(g: ConvGeometry, flat: number): number[] {
  const offset = new Array<number>(g.rank).fill(0);
  for (let i = g.rank - 1, r = flat; i >= 0; i--) {
    offset[i] = r % g.kernel[i]!;
    r = Math.floor(r / g.kernel[i]!);
  }
  return offset;
}

/**
 * B [N, Cb, O…] as per-group rows [g, N·O, Cb/g] over (n, o) or (o, n). With one group the batch
 * or spatial block moves as a whole, which onnxruntime transposes with a fast blocked kernel.
 */
function rowsOfB(b: GraphBuilder, ops: CorrelationOperands, groups: number, order: 'n,o' | 'o,n'): string {
  const cbG = ops.bChannels / groups;
  const oSize = prod(ops.bDims);
  const one = groups === 1;
  const source = b.op('Reshape', [ops.bValue, b.int64s(one ? [0, cbG, oSize] : [0, groups, cbG, oSize])], {}, { name: 'conv_dW_rows' });
  const perm = order === 'n,o' ? (one ? [0, 2, 1] : [1, 0, 3, 2]) : one ? [2, 0, 1] : [1, 3, 0, 2];
  const moved = b.op('Transpose', [source], { perm }, { name: 'conv_dW_rows' });
  return b.op('Reshape', [moved, b.int64s([groups, -1, cbG])], {}, { name: 'conv_dW_rows' });
}

/** [g, Ca/g·K, ·] × [g, ·, Cb/g] → G [Cb, Ca/g, k…]. */
function contract(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry, cols: string, rows: string): string {
  const caG = ops.aChannels / g.group;
  const colsG = b.op('Reshape', [cols, b.int64s([g.group, caG * prod(g.kernel), -1])], {}, { name: 'conv_dW_columns' });
  const product = b.op('MatMul', [colsG, rows], {}, { name: 'conv_dW' });
  const back = b.op('Transpose', [product], { perm: [0, 2, 1] }, { name: 'conv_dW' });
  return b.op('Reshape', [back, b.int64s([ops.bChannels, caG, ...g.kernel])], {}, { name: 'conv_dW' });
}

function viaGather(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry): string {
  const rank = g.rank;
  const kSize = prod(g.kernel);
  const oSize = prod(ops.bDims);
  const pSize = prod(ops.aDims);
  // Indices [K, O]: for kernel offset k and output position o, the input cell o·s + k·d − pad
  // (row-major), or pSize — one zero row appended to A — when that cell lies in the padding.
  const indices: number[] = [];
  for (let k = 0; k < kSize; k++) {
    const offset = kernelOffset(g, k);
    for (let o = 0; o < oSize; o++) {
      let flat = 0;
      let inside = true;
      for (let i = 0, r = o, stride = oSize; i < rank; i++) {
        stride /= ops.bDims[i]!;
        const oi = Math.floor(r / stride);
        r -= oi * stride;
        const x = oi * g.strides[i]! + offset[i]! * g.dilations[i]! - g.padsBegin[i]!;
        if (x < 0 || x >= ops.aDims[i]!) inside = false;
        flat = flat * ops.aDims[i]! + x;
      }
      indices.push(inside ? flat : pSize);
    }
  }
  // A [N, Ca, P] → [Ca, P, N]: only the batch axis moves (a fast transpose), and every gathered
  // item is then a contiguous run of N values.
  const flatA = b.op('Reshape', [ops.a, b.int64s([0, ops.aChannels, pSize])], {}, { name: 'conv_dW_cells' });
  const cells = b.op('Transpose', [flatA], { perm: [1, 2, 0] }, { name: 'conv_dW_cells' });
  const withZero = indices.includes(pSize) ? b.op('Pad', [cells, b.int64s([0, 0, 0, 0, 1, 0])], { mode: 'constant' }, { name: 'conv_dW_cells' }) : cells;
  const cols = b.op('Gather', [withZero, b.int64s(indices, [kSize, oSize])], { axis: 1 }, { name: 'conv_dW_columns' });
  return contract(b, ops, g, cols, rowsOfB(b, ops, g.group, 'o,n'));
}

function viaIm2col(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry): string {
  const rank = g.rank;
  // Pad A at the end only as far as the last window reaches.
  const begin = g.padsBegin;
  const end = ops.aDims.map((d, i) => Math.max(0, (ops.bDims[i]! - 1) * g.strides[i]! + (g.kernel[i]! - 1) * g.dilations[i]! + 1 - d - begin[i]!));
  const paddedDims = ops.aDims.map((d, i) => d + begin[i]! + end[i]!);
  const padded = [...begin, ...end].some((p) => p !== 0)
    ? b.op('Pad', [ops.a, b.int64s([0, 0, ...begin, 0, 0, ...end])], { mode: 'constant' }, { name: 'conv_dW_pad' })
    : ops.a;
  // Channels first, each window is [Ca, N, O…]; concatenated along axis 1 they form the columns
  // [Ca, K, N·O] without transposing the (large) column matrix.
  const aT = b.op('Transpose', [padded], { perm: [1, 0, ...range(rank, 2)] }, { name: 'conv_dW_channels_first' });
  const axes = b.int64s(range(rank, 2));
  const steps = b.int64s(g.strides);
  const windows: string[] = [];
  for (let k = 0; k < prod(g.kernel); k++) {
    const starts = kernelOffset(g, k).map((o, i) => o * g.dilations[i]!);
    const ends = starts.map((s, i) => s + (ops.bDims[i]! - 1) * g.strides[i]! + 1);
    const whole = starts.every((s, i) => s === 0 && ends[i] === paddedDims[i] && g.strides[i] === 1);
    windows.push(whole ? aT : b.op('Slice', [aT, b.int64s(starts), b.int64s(ends), axes, steps], {}, { name: 'conv_dW_window' }));
  }
  const cols = windows.length === 1 ? windows[0]! : b.op('Concat', windows, { axis: 1 }, { name: 'conv_dW_columns' });
  return contract(b, ops, g, cols, rowsOfB(b, ops, g.group, 'n,o'));
}

function viaConv(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry): string {
  const rank = g.rank;
  const groups = g.group;
  const caG = ops.aChannels / groups;
  const cbG = ops.bChannels / groups;
  const spatial = range(rank, 3);
  // A as a batch of Ca/g images with g·N channels (group-major), B as Cb filters of N channels.
  const aG = b.op('Reshape', [ops.a, b.int64s([0, groups, caG, ...ops.aDims])], {}, { name: 'conv_dW_input' });
  const aT = b.op('Transpose', [aG], { perm: [2, 1, 0, ...spatial] }, { name: 'conv_dW_input' });
  const aIn = b.op('Reshape', [aT, b.int64s([caG, -1, ...ops.aDims])], {}, { name: 'conv_dW_input' });
  const bG = b.op('Reshape', [ops.bValue, b.int64s([0, groups, cbG, ...ops.bDims])], {}, { name: 'conv_dW_filters' });
  const bT = b.op('Transpose', [bG], { perm: [1, 2, 0, ...spatial] }, { name: 'conv_dW_filters' });
  const filters = b.op('Reshape', [bT, b.int64s([ops.bChannels, -1, ...ops.bDims])], {}, { name: 'conv_dW_filters' });
  // End padding that makes the output exactly the kernel size: the windows of the original
  // op may leave cells at the end unused; crop those when there is no padding to absorb them.
  let input = aIn;
  const endPads = ops.aDims.map((d, i) => (g.kernel[i]! - 1) * g.dilations[i]! + (ops.bDims[i]! - 1) * g.strides[i]! + 1 - d - g.padsBegin[i]!);
  if (endPads.some((p) => p < 0)) {
    const ends = ops.aDims.map((d, i) => d + Math.min(0, endPads[i]!));
    input = b.op('Slice', [aIn, b.int64s(ends.map(() => 0)), b.int64s(ends), b.int64s(range(rank, 2))], {}, { name: 'conv_dW_crop' });
  }
  const pads = [...g.padsBegin, ...endPads.map((p) => Math.max(0, p))];
  const out = b.op(
    'Conv',
    [input, filters],
    { group: groups, strides: [...g.dilations], dilations: [...g.strides], pads, kernel_shape: [...ops.bDims] },
    { name: 'conv_dW' },
  );
  // [Ca/g, Cb, k…] → [Cb, Ca/g, k…]
  return b.op('Transpose', [out], { perm: [1, 0, ...range(rank, 2)] }, { name: 'conv_dW' });
}
