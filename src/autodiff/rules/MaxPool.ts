/**
 * MaxPool: Y[w] = max over window w of X, so dX[i] = Σ_w dY[w]·[i is the first maximum of w] (PyTorch's convention: one winner per window, ties never double counted).
 */
import type { VjpContext, VjpRule } from '../vjp-rule.js';
import { reshapeLike, zerosLike } from './common.js';
import { cropOrPad, poolWindow, type PoolWindow } from './pool-window.js';

/**
 * How the winners are found (timings: bench/maxpool-grad-speed.ts):
 * - 'indices': MaxPool runs again with its Indices output and dY is scattered with
 *   ScatterElements(add). Exact for any window layout, but onnxruntime's Indices path is slow.
 * - 'windows': non-overlapping windows only. X is cut into blocks of one stride, the window
 *   position is moved next to the batch axis, one ArgMax over it finds the first maximum
 *   (row-major window order), and dY is placed with a one-hot Where and moved back.
 * - 'space-to-depth': 'windows' for square 2-D windows equal to the stride, with SpaceToDepth /
 *   DepthToSpace doing the moves.
 * - 'auto': the fastest that applies.
 */
export type MaxPoolFormulation = 'auto' | 'indices' | 'windows' | 'space-to-depth';

export function maxPoolVjpWith(formulation: MaxPoolFormulation): VjpRule {
  return {
    opType: 'MaxPool',
    sinceVersion: 12,
    inputs: ['X'],
    vjp(ctx) {
      const dY = ctx.dY(0);
      if (!dY || !ctx.needsGrad(0)) return { X: null };
      const w = poolWindow(ctx);
      const disjoint = w.kernel.every((k, i) => w.dilations[i] === 1 && k <= w.strides[i]!);
      const square = w.kernel.length === 2 && w.kernel.every((k, i) => k === w.strides[i] && k === w.kernel[0] && w.dilations[i] === 1);
      const use = formulation === 'auto' ? (square ? 'space-to-depth' : disjoint ? 'windows' : 'indices') : formulation;
      if (use === 'windows' && !disjoint) ctx.unsupported(`formulation '${use}' with overlapping or dilated windows`);
      if (use === 'space-to-depth' && !square) ctx.unsupported(`formulation '${use}' with windows that are not square tiles`);
      if (use === 'indices') return { X: viaIndices(ctx, dY) };
      return { X: viaWindows(ctx, dY, w, use === 'space-to-depth') };
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

function viaWindows(ctx: VjpContext, dY: string, w: PoolWindow, spaceToDepth: boolean): string {
  const { b } = ctx;
  const X = ctx.input(0);
  const r = w.kernel.length;
  const { outSize: O, strides: s, kernel: k } = w;
  const size = k.reduce((a, c) => a * c, 1);
  // Lay X over a grid of O·s cells per axis: pad with -inf (padding never wins, as in MaxPool) or
  // crop the remainder no window reaches.
  const tail = w.inSize.map((n, i) => O[i]! * s[i]! - w.padBegin[i]! - n);
  const grid = cropOrPad(b, X, w.padBegin, tail, b.scalar(-Infinity, ctx.dataType(X)), 'MaxPool_grid');
  const ungrid = (dGrid: string): string => cropOrPad(b, dGrid, w.padBegin.map((p) => -p), tail.map((t) => -t), null, 'MaxPool_dX');

  if (spaceToDepth) {
    // SpaceToDepth numbers its channels position·C + c, so the window position is already outer;
    // DepthToSpace in DCR mode is its exact inverse.
    const cells = b.op('SpaceToDepth', [grid], { blocksize: s[0]! }, { name: 'MaxPool_cells' });
    const picked = pickWinner(ctx, b.op('Reshape', [cells, b.int64s([0, size, -1])], {}, { name: 'MaxPool_windows' }), dY, size);
    const dCells = b.op('Reshape', [picked, b.int64s([0, -1, ...O])], {}, { name: 'MaxPool_dcells' });
    return ungrid(b.op('DepthToSpace', [dCells], { blocksize: s[0]!, mode: 'DCR' }, { name: 'MaxPool_dgrid' }));
  }

  let blocks = b.op('Reshape', [grid, b.int64s([0, 0, ...O.flatMap((o, i) => [o, s[i]!])])], {}, { name: 'MaxPool_blocks' });
  const windowAxes = Array.from({ length: r }, (_, i) => 3 + 2 * i);
  const gapped = k.some((kk, i) => kk < s[i]!);
  if (gapped) {
    // Stride longer than the kernel: the tail of each block lies outside every window.
    blocks = b.op('Slice', [blocks, b.int64s(k.map(() => 0)), b.int64s(k), b.int64s(windowAxes)], {}, { name: 'MaxPool_in_window' });
  }
  // (N, k₁, k₂ …, C, O₁, O₂ …): the later broadcasts then repeat long contiguous runs, which
  // onnxruntime does fast (with the window axes last, Where/Equal were ~10× slower).
  const perm = [0, ...windowAxes, 1, ...windowAxes.map((a) => a - 1)];
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const moved = b.op('Transpose', [blocks], { perm }, { name: 'MaxPool_windows_outer' });
  const picked = pickWinner(ctx, b.op('Reshape', [moved, b.int64s([0, size, -1])], {}, { name: 'MaxPool_windows' }), dY, size);
  const unflat = b.op('Reshape', [picked, b.int64s([0, ...k, -1, ...O])], {}, { name: 'MaxPool_dwindows' });
  let dBlocks = b.op('Transpose', [unflat], { perm: inverse }, { name: 'MaxPool_windows_back' });
  if (gapped) {
    const rank = 2 + 2 * r;
    const pads = new Array<number>(2 * rank).fill(0);
    windowAxes.forEach((a, i) => { pads[rank + a] = s[i]! - k[i]!; });
    dBlocks = b.op('Pad', [dBlocks, b.int64s(pads)], { mode: 'constant' }, { name: 'MaxPool_ungap' });
  }
  return ungrid(b.op('Reshape', [dBlocks, b.int64s([0, 0, ...O.map((o, i) => o * s[i]!)])], {}, { name: 'MaxPool_dgrid' }));
}

/** windows: (N, size, M) with the window position on axis 1. Returns dY (N, M) placed at each first maximum, zeros elsewhere. */
function pickWinner(ctx: VjpContext, windows: string, dY: string, size: number): string {
  const { b } = ctx;
  const arg = b.op('ArgMax', [windows], { axis: 1, keepdims: 1, select_last_index: 0 }, { name: 'MaxPool_arg' });
  const positions = b.int64s(Array.from({ length: size }, (_, i) => i), [size, 1]);
  const hit = b.op('Equal', [positions, arg], {}, { name: 'MaxPool_onehot' });
  const dYr = b.op('Reshape', [dY, b.int64s([0, 1, -1])], {}, { name: 'MaxPool_dY' });
  return b.op('Where', [hit, dYr, b.scalar(0, ctx.dataType(ctx.input(0)))], {}, { name: 'MaxPool_dwin' });
}
