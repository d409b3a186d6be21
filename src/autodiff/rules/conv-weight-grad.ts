/**
 * Weight gradient of a (transposed) convolution as a correlation:
 * G[cb, ca, k] = Σ_{n,o} B[n, cb, o] · A_pad[n, ca, o·s + k·d]   (within each group).
 * For Conv, A = X and B = dY (G is dW, [M, C/g, k…]); for ConvTranspose, A = dY and B = X.
 */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { ConvGeometry } from './conv-geometry.js';

/**
 * 'im2col': the windows of A as Slices concatenated into columns, then one (batched) MatMul.
 * 'im2col-gemm': the same columns, one Gemm with transB (group 1 only; falls back to 'im2col').
 * 'offsets': one MatMul per kernel offset on that offset's window slice (no column matrix).
 * 'gather': the columns from one Gather over A laid out batch-innermost, then one MatMul.
 * 'conv': a Conv with the batch as channels (A as input, B as weights, strides ↔ dilations).
 */
export type WeightGradFormulation = 'im2col' | 'im2col-gemm' | 'offsets' | 'gather' | 'conv';

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
  if (formulation === 'conv') return viaConv(b, ops, geom);
  if (formulation === 'offsets') return viaOffsets(b, ops, geom);
  if (formulation === 'gather') return viaGather(b, ops, geom);
  return viaIm2col(b, ops, geom, formulation === 'im2col-gemm' && geom.group === 1);
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => i + from);
const prod = (xs: readonly number[]): number => xs.reduce((p, x) => p * x, 1);

/** Pads A at the end only as far as the last window reaches (begin pads as given). */
function padForWindows(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry): { value: string; dims: number[] } {
  const begin = g.padsBegin;
  const end = ops.aDims.map((d, i) => Math.max(0, (ops.bDims[i]! - 1) * g.strides[i]! + (g.kernel[i]! - 1) * g.dilations[i]! + 1 - d - begin[i]!));
  const dims = ops.aDims.map((d, i) => d + begin[i]! + end[i]!);
  if (begin.every((p) => p === 0) && end.every((p) => p === 0)) return { value: ops.a, dims };
  const pads = b.int64s([0, 0, ...begin, 0, 0, ...end]);
  return { value: b.op('Pad', [ops.a, pads], { mode: 'constant' }, { name: 'conv_dW_pad' }), dims };
}

/** B [N, Cb, O…] as per-group rows over (n, o): [g, N·O, Cb/g]. */
function rowsOfB(b: GraphBuilder, ops: CorrelationOperands, groups: number): string {
  const cbG = ops.bChannels / groups;
  const oSize = prod(ops.bDims);
  if (groups === 1) {
    // A single-axis move, which onnxruntime transposes with a fast blocked kernel.
    const flat = b.op('Reshape', [ops.bValue, b.int64s([0, ops.bChannels, oSize])], {}, { name: 'conv_dW_rows' });
    const t = b.op('Transpose', [flat], { perm: [0, 2, 1] }, { name: 'conv_dW_rows' });
    return b.op('Reshape', [t, b.int64s([1, -1, cbG])], {}, { name: 'conv_dW_rows' });
  }
  const grouped = b.op('Reshape', [ops.bValue, b.int64s([0, groups, cbG, oSize])], {}, { name: 'conv_dW_rows' });
  const t = b.op('Transpose', [grouped], { perm: [1, 0, 3, 2] }, { name: 'conv_dW_rows' });
  return b.op('Reshape', [t, b.int64s([groups, -1, cbG])], {}, { name: 'conv_dW_rows' });
}

/** The windows of A, channels first: one [Ca, N, O…] Slice per kernel offset (row-major). */
function windowSlices(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry): string[] {
  const rank = g.rank;
  const padded = padForWindows(b, ops, g);
  const aT = b.op('Transpose', [padded.value], { perm: [1, 0, ...range(rank, 2)] }, { name: 'conv_dW_channels_first' });
  const axes = b.int64s(range(rank, 2));
  const steps = b.int64s(g.strides);
  const slices: string[] = [];
  for (let flat = 0; flat < prod(g.kernel); flat++) {
    const offset: number[] = [];
    for (let i = rank - 1, r = flat; i >= 0; i--) {
      offset[i] = r % g.kernel[i]!;
      r = Math.floor(r / g.kernel[i]!);
    }
    const starts = offset.map((k, i) => k * g.dilations[i]!);
    const ends = starts.map((s, i) => s + (ops.bDims[i]! - 1) * g.strides[i]! + 1);
    const whole = starts.every((s, i) => s === 0 && ends[i] === padded.dims[i] && g.strides[i] === 1);
    slices.push(whole ? aT : b.op('Slice', [aT, b.int64s(starts), b.int64s(ends), axes, steps], {}, { name: 'conv_dW_window' }));
  }
  return slices;
}

function viaIm2col(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry, gemm: boolean): string {
  const rank = g.rank;
  const groups = g.group;
  const caG = ops.aChannels / groups;
  const cbG = ops.bChannels / groups;
  const kSize = prod(g.kernel);
  // Channels first, each window slice is [Ca, N, O…]; concatenated along axis 1 they form the
  // columns [Ca, K, N·O] with no transpose of the (large) column matrix.
  const slices = windowSlices(b, ops, g);
  const cols = slices.length === 1 ? slices[0]! : b.op('Concat', slices, { axis: 1 }, { name: 'conv_dW_columns' });
  if (gemm) {
    // [Cb, N·O] × [Ca·K, N·O]ᵀ → [Cb, Ca·K]
    const colsFlat = b.op('Reshape', [cols, b.int64s([ops.aChannels * kSize, -1])], {}, { name: 'conv_dW_columns' });
    const bT = b.op('Transpose', [ops.bValue], { perm: [1, 0, ...range(rank, 2)] }, { name: 'conv_dW_dY' });
    const bFlat = b.op('Reshape', [bT, b.int64s([ops.bChannels, -1])], {}, { name: 'conv_dW_dY' });
    const prodValue = b.op('Gemm', [bFlat, colsFlat], { transB: 1 }, { name: 'conv_dW' });
    return b.op('Reshape', [prodValue, b.int64s([ops.bChannels, caG, ...g.kernel])], {}, { name: 'conv_dW' });
  }
  // Per group: [Ca/g·K, N·O] × [N·O, Cb/g] → [Ca/g·K, Cb/g]; B is the small operand to transpose.
  const colsG = b.op('Reshape', [cols, b.int64s([groups, caG * kSize, -1])], {}, { name: 'conv_dW_columns' });
  const prodValue = b.op('MatMul', [colsG, rowsOfB(b, ops, groups)], {}, { name: 'conv_dW' });
  const back = b.op('Transpose', [prodValue], { perm: [0, 2, 1] }, { name: 'conv_dW' });
  return b.op('Reshape', [back, b.int64s([ops.bChannels, caG, ...g.kernel])], {}, { name: 'conv_dW' });
}

/** One MatMul per kernel offset, [g, Ca/g, N·O] × [g, N·O, Cb/g]: no column matrix is assembled. */
function viaOffsets(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry): string {
  const groups = g.group;
  const caG = ops.aChannels / groups;
  const cbG = ops.bChannels / groups;
  const rows = rowsOfB(b, ops, groups);
  const shape = b.int64s([groups, caG, -1]);
  const parts = windowSlices(b, ops, g).map((w) =>
    b.op('MatMul', [b.op('Reshape', [w, shape], {}, { name: 'conv_dW_window' }), rows], {}, { name: 'conv_dW_offset' }),
  );
  const kSize = parts.length;
  // [K·g, Ca/g, Cb/g] → [g, Cb/g, Ca/g, K]
  const stacked = parts.length === 1 ? parts[0]! : b.op('Concat', parts, { axis: 0 }, { name: 'conv_dW' });
  const split = b.op('Reshape', [stacked, b.int64s([kSize, groups, caG, cbG])], {}, { name: 'conv_dW' });
  const moved = b.op('Transpose', [split], { perm: [1, 3, 2, 0] }, { name: 'conv_dW' });
  return b.op('Reshape', [moved, b.int64s([ops.bChannels, caG, ...g.kernel])], {}, { name: 'conv_dW' });
}

/**
 * One Gather builds the columns. A is moved to [Ca, P, N] (P = flattened spatial position, the
 * batch innermost, plus one zero row standing for every padded cell), so each gathered item is
 * a contiguous run of N values and the columns come out as [Ca, K, O·N] in a single write.
 */
function viaGather(b: GraphBuilder, ops: CorrelationOperands, g: ConvGeometry): string {
  const rank = g.rank;
  const groups = g.group;
  const caG = ops.aChannels / groups;
  const cbG = ops.bChannels / groups;
  const kSize = prod(g.kernel);
  const oSize = prod(ops.bDims);
  const pSize = prod(ops.aDims);
  // Indices [K, O]: for kernel offset k and output position o, the input cell o·s + k·d − pad
  // (row-major), or pSize (the zero row) when that cell lies in the padding.
  const indices: number[] = [];
  const offset = new Array<number>(rank).fill(0);
  for (let k = 0; k < kSize; k++) {
    for (let i = rank - 1, r = k; i >= 0; i--) {
      offset[i] = r % g.kernel[i]!;
      r = Math.floor(r / g.kernel[i]!);
    }
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
  const flatA = b.op('Reshape', [ops.a, b.int64s([0, ops.aChannels, pSize])], {}, { name: 'conv_dW_cells' });
  // [N, Ca, P] → [Ca, P, N]: the batch axis alone moves, which onnxruntime transposes quickly.
  const cells = b.op('Transpose', [flatA], { perm: [1, 2, 0] }, { name: 'conv_dW_cells' });
  const padded = indices.includes(pSize) ? b.op('Pad', [cells, b.int64s([0, 0, 0, 0, 1, 0])], { mode: 'constant' }, { name: 'conv_dW_cells' }) : cells;
  const cols = b.op('Gather', [padded, b.int64s(indices, [kSize, oSize])], { axis: 1 }, { name: 'conv_dW_columns' });
  // [Ca, K, O, N] → per group [Ca/g·K, O·N]; dY [N, Cb, O] → per group [O·N, Cb/g].
  let rows: string;
  if (groups === 1) {
    const flatB = b.op('Reshape', [ops.bValue, b.int64s([0, ops.bChannels, oSize])], {}, { name: 'conv_dW_rows' });
    const t = b.op('Transpose', [flatB], { perm: [2, 0, 1] }, { name: 'conv_dW_rows' });
    rows = b.op('Reshape', [t, b.int64s([1, -1, cbG])], {}, { name: 'conv_dW_rows' });
  } else {
    const grouped = b.op('Reshape', [ops.bValue, b.int64s([0, groups, cbG, oSize])], {}, { name: 'conv_dW_rows' });
    const t = b.op('Transpose', [grouped], { perm: [1, 3, 0, 2] }, { name: 'conv_dW_rows' });
    rows = b.op('Reshape', [t, b.int64s([groups, -1, cbG])], {}, { name: 'conv_dW_rows' });
  }
  const colsG = b.op('Reshape', [cols, b.int64s([groups, caG * kSize, -1])], {}, { name: 'conv_dW_columns' });
  const prodValue = b.op('MatMul', [colsG, rows], {}, { name: 'conv_dW' });
  const back = b.op('Transpose', [prodValue], { perm: [0, 2, 1] }, { name: 'conv_dW' });
  return b.op('Reshape', [back, b.int64s([ops.bChannels, caG, ...g.kernel])], {}, { name: 'conv_dW' });
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
    input = b.op('Slice', [aIn, b.int64s(range(rank, 0).map(() => 0)), b.int64s(ends), b.int64s(range(rank, 2))], {}, { name: 'conv_dW_crop' });
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
