/**
 * Pad: Y = pad(crop(X)) per axis (negative pads crop first, as onnxruntime does), so
 * dX = zero-pad(padᵀ(dY)). padᵀ drops the added border for 'constant', and for 'reflect', 'edge'
 * and 'wrap' adds each border element back onto the X element it copied. dValue = Σ dY over the border.
 */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { VjpContext, VjpRule } from '../vjp-rule.js';
import { dimOf, int64Vector, normalizeAxis, reshapeLike, zerosLike } from './common.js';

const INT64_MIN = -(2 ** 63);

export const padVjp: VjpRule = {
  opType: 'Pad',
  sinceVersion: 18,
  inputs: ['data', 'pads', 'constant_value', 'axes'],
  vjp(ctx: VjpContext) {
    const { b } = ctx;
    const X = ctx.input(0);
    const xShape = ctx.shape(X);
    const rank = xShape.length;
    const mode = ctx.attrs.string('mode', 'constant');
    const pads = ctx.constant(ctx.input(1));
    if (!pads) ctx.unsupported('pads computed from the data at run time');
    let axes = Array.from({ length: rank }, (_, i) => i);
    if (ctx.input(3)) {
      const given = ctx.constant(ctx.input(3));
      if (!given) ctx.unsupported('axes computed from the data at run time');
      axes = given.map((a) => normalizeAxis(a, rank));
    }
    const begin = new Array<number>(rank).fill(0);
    const end = new Array<number>(rank).fill(0);
    axes.forEach((a, k) => {
      begin[a] = pads[k]!;
      end[a] = pads[k + axes.length]!;
    });
    const dY = ctx.dY()!;

    let dX: string | null = null;
    if (begin.every((p) => p === 0) && end.every((p) => p === 0)) dX = dY;
    else if (mode === 'constant') {
      // Cropping and padding with zeros are each other's transposes: one Pad with negated amounts.
      dX = b.op('Pad', [dY, b.int64s([...begin, ...end].map((p) => -p))], { mode: 'constant' }, { name: 'Pad_dX' });
    } else if (ctx.needsGrad(0)) {
      if (!['reflect', 'edge', 'wrap'].includes(mode)) ctx.unsupported(`mode='${mode}'`);
      let g = dY;
      for (let a = 0; a < rank; a++) {
        const before = Math.max(begin[a]!, 0);
        const after = Math.max(end[a]!, 0);
        if (before === 0 && after === 0) continue;
        const n = xShape[a];
        if (n === null || n === undefined) ctx.unsupported(`mode='${mode}' on axis ${a}, whose size is only known at run time`);
        const kept = n + Math.min(begin[a]!, 0) + Math.min(end[a]!, 0);
        // onnxruntime 1.30 fills a leading wrap longer than the axis with zeros, unlike ONNX's definition.
        if (mode === 'wrap' && before > kept) ctx.unsupported(`mode='wrap' with a leading pad of ${before} on axis ${a} of size ${kept}`);
        g = borderTranspose(ctx, g, mode, a, before, after, kept);
      }
      const crops = [...begin, ...end].map((p) => Math.max(-p, 0));
      dX = crops.some((c) => c > 0) ? b.op('Pad', [g, b.int64s(crops)], { mode: 'constant' }, { name: 'Pad_dX' }) : g;
    }

    let dValue: string | null = null;
    if (ctx.needsGrad(2)) {
      if (mode !== 'constant') dValue = zerosLike(ctx, ctx.input(2));
      else {
        // The border is what dX (a crop of dY) leaves out.
        const total = b.op('ReduceSum', [dY], { keepdims: 0 });
        const fromX = b.op('ReduceSum', [dX!], { keepdims: 0 });
        dValue = reshapeLike(b, b.op('Sub', [total, fromX], {}, { name: 'Pad_dvalue' }), ctx.input(2), ctx.shape(ctx.input(2)));
      }
    }
    return { data: ctx.needsGrad(0) ? dX : null, pads: null, constant_value: dValue, axes: null };
  },
};

/** Along `axis` (length before + kept + after in g), folds the border back onto the kept X elements. */
function borderTranspose(ctx: VjpContext, g: string, mode: string, axis: number, before: number, after: number, kept: number): string {
  const { b } = ctx;
  const ax = b.int64s([axis]);
  const slice = (start: number, stop: number, step = 1): string =>
    b.op('Slice', [g, b.int64s([start]), b.int64s([stop]), ax, b.int64s([step])], {}, { name: 'Pad_border' });
  const place = (part: string, lead: number, trail: number): string => padAxis(b, part, ctx.rank(ctx.input(0)), axis, lead, trail);

  if (mode === 'wrap') return foldWrap(ctx, g, axis, before, after, kept);
  const terms = [slice(before, before + kept)];
  if (mode === 'reflect') {
    // Border element at distance d from an edge copies the X element at distance d inside it.
    if (before > 0) terms.push(place(slice(before - 1, INT64_MIN, -1), 1, kept - 1 - before));
    if (after > 0) terms.push(place(slice(before + kept + after - 1, before + kept - 1, -1), kept - 1 - after, 1));
  } else {
    // 'edge': every border element copies the first or last X element.
    const sumOf = (part: string): string => b.op('ReduceSum', [part, ax], { keepdims: 1 }, { name: 'Pad_edge' });
    if (before > 0) terms.push(place(sumOf(slice(0, before)), 0, kept - 1));
    if (after > 0) terms.push(place(sumOf(slice(before + kept, before + kept + after)), kept - 1, 0));
  }
  return terms.length === 1 ? terms[0]! : b.op('Sum', terms, {}, { name: 'Pad_fold' });
}

/** Zero-pads one axis. */
function padAxis(b: GraphBuilder, g: string, rank: number, axis: number, lead: number, trail: number): string {
  const pads = new Array<number>(2 * rank).fill(0);
  pads[axis] = lead;
  pads[rank + axis] = trail;
  return b.op('Pad', [g, b.int64s(pads)], { mode: 'constant' }, { name: 'Pad_place' });
}

/**
 * 'wrap': output position i copies X element (i − before) mod kept. Shift g so that position
 * i lands at a multiple-of-kept offset, zero-fill to whole periods, fold the periods and sum them.
 */
function foldWrap(ctx: VjpContext, g: string, axis: number, before: number, after: number, kept: number): string {
  const { b } = ctx;
  const rank = ctx.rank(ctx.input(0));
  const length = before + kept + after;
  const lead = Math.ceil(before / kept) * kept - before;
  const periods = Math.ceil((lead + length) / kept);
  const shifted = padAxis(b, g, rank, axis, lead, periods * kept - lead - length);
  const dims: (number | string)[] = [];
  for (let i = 0; i < rank; i++) {
    // 0 copies the input's size; it is only safe before `axis`, where the indices line up.
    if (i === axis) dims.push(periods, kept);
    else dims.push(i < axis ? 0 : dimOf(b, g, i));
  }
  const folded = b.op('Reshape', [shifted, int64Vector(b, dims)], {}, { name: 'Pad_wrap' });
  return b.op('ReduceSum', [folded, b.int64s([axis])], { keepdims: 0 }, { name: 'Pad_wrap' });
}
