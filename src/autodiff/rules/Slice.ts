/**
 * Slice: Y = X[start : end : step] per axis, so dX scatters dY back to those positions, zero
 * elsewhere. Built as: flip the axes with negative steps, spread strided axes with interleaved
 * zeros (Pad + Reshape), then one Pad (negative amounts crop) to place the block in X's shape.
 */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { VjpContext, VjpRule } from '../vjp-rule.js';
import { dimOf, dimParts, int64Vector, normalizeAxis, zerosLike } from './common.js';

/** Per sliced axis: the first X index hit, the count, the stride (> 0) and whether dY runs backwards. */
interface AxisSlice {
  axis: number;
  first: number;
  count: number;
  stride: number;
  reversed: boolean;
}

const INT64_MIN = -(2 ** 63);

export const sliceVjp: VjpRule = {
  opType: 'Slice',
  sinceVersion: 13,
  inputs: ['data', 'starts', 'ends', 'axes', 'steps'],
  vjp(ctx: VjpContext) {
    const { b } = ctx;
    const X = ctx.input(0);
    const xShape = ctx.shape(X);
    const rank = xShape.length;
    const read = (i: number, what: string): readonly number[] | undefined => {
      if (!ctx.input(i)) return undefined;
      const v = ctx.constant(ctx.input(i));
      if (!v) ctx.unsupported(`${what} computed from the data at run time`);
      return v;
    };
    const starts = read(1, 'starts')!;
    const ends = read(2, 'ends')!;
    const axes = (read(3, 'axes') ?? starts.map((_, i) => i)).map((a) => normalizeAxis(a, rank));
    const steps = read(4, 'steps') ?? starts.map(() => 1);

    const statics: AxisSlice[] = [];
    // Axes whose size is only known at run time: step 1 only; their pads are computed in the graph.
    const dynamics: { axis: number; start: number }[] = [];
    for (let k = 0; k < axes.length; k++) {
      const axis = axes[k]!;
      const step = steps[k]!;
      const n = xShape[axis];
      if (step === 0) ctx.unsupported('a step of 0');
      if (n === null || n === undefined) {
        if (step !== 1) ctx.unsupported(`step ${step} on axis ${axis}, whose size is only known at run time`);
        dynamics.push({ axis, start: starts[k]! });
        continue;
      }
      const s = resolveSlice(starts[k]!, ends[k]!, step, n);
      if (s.count === 0) return { data: zerosLike(ctx, X), starts: null, ends: null, axes: null, steps: null };
      statics.push({ axis, ...s });
    }

    let g = ctx.dY()!;
    const shape = [...ctx.shape(ctx.output(0))];
    const flipped = statics.filter((s) => s.reversed && s.count > 1);
    if (flipped.length) {
      g = b.op(
        'Slice',
        [g, b.int64s(flipped.map(() => -1)), b.int64s(flipped.map(() => INT64_MIN)), b.int64s(flipped.map((s) => s.axis)), b.int64s(flipped.map(() => -1))],
        {},
        { name: 'Slice_flip' },
      );
    }
    for (const s of statics) {
      if (s.stride > 1 && s.count > 1) g = interleaveZeros(b, g, shape, s.axis, s.stride);
    }

    const begins: (number | string)[] = new Array<number | string>(rank).fill(0);
    const endPads: (number | string)[] = new Array<number | string>(rank).fill(0);
    for (const s of statics) {
      begins[s.axis] = s.first;
      endPads[s.axis] = xShape[s.axis]! - s.first - shape[s.axis]!;
    }
    for (const d of dynamics) {
      const n = dimOf(b, X, d.axis);
      const begin = d.start >= 0 ? d.start : b.op('Max', [b.op('Add', [n, b.int64s([d.start])]), b.int64s([0])], {}, { name: 'Slice_begin' });
      const beginTensor = typeof begin === 'number' ? b.int64s([begin]) : begin;
      begins[d.axis] = begin;
      endPads[d.axis] = b.op('Sub', [b.op('Sub', [n, beginTensor]), dimOf(b, g, d.axis)], {}, { name: 'Slice_end_pad' });
    }
    if ([...begins, ...endPads].every((p) => p === 0)) return { data: g, starts: null, ends: null, axes: null, steps: null };
    const dX = b.op('Pad', [g, int64Vector(b, [...begins, ...endPads])], { mode: 'constant' }, { name: 'Slice_dX' });
    return { data: dX, starts: null, ends: null, axes: null, steps: null };
  },
};

/** The ONNX clamping rules for one axis of size n, as the ascending run of X indices that is read. */
function resolveSlice(start: number, end: number, step: number, n: number): Omit<AxisSlice, 'axis'> {
  const norm = (v: number): number => (v < 0 ? v + n : v);
  if (step > 0) {
    const s = Math.min(Math.max(norm(start), 0), n);
    const e = Math.min(Math.max(norm(end), 0), n);
    const count = Math.max(0, Math.ceil((e - s) / step));
    return { first: s, count, stride: step, reversed: false };
  }
  const s = Math.min(Math.max(norm(start), 0), n - 1);
  const e = Math.min(Math.max(norm(end), -1), n - 1);
  const count = Math.max(0, Math.ceil((s - e) / -step));
  return { first: s + (count - 1) * step, count, stride: -step, reversed: true };
}

/**
 * Spreads `g` along `axis` so element k lands at k·stride with zeros between: unsqueeze a unit axis
 * after `axis`, pad it to `stride`, merge the two. The axis becomes count·stride long; the final
 * Pad crops the stride−1 trailing zeros when they fall past the end of X.
 */
function interleaveZeros(b: GraphBuilder, g: string, shape: (number | null)[], axis: number, stride: number): string {
  const rank = shape.length;
  const unsq = b.op('Unsqueeze', [g, b.int64s([axis + 1])], {}, { name: 'Slice_spread' });
  const pads = new Array<number>(2 * (rank + 1)).fill(0);
  pads[rank + 1 + axis + 1] = stride - 1;
  const padded = b.op('Pad', [unsq, b.int64s(pads)], { mode: 'constant' }, { name: 'Slice_spread' });
  shape[axis] = shape[axis]! * stride;
  return b.op('Reshape', [padded, int64Vector(b, dimParts(b, g, shape))], {}, { name: 'Slice_spread' });
}
