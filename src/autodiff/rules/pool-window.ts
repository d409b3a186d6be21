/**
 * Window geometry shared by the MaxPool and AveragePool rules: the node's kernel, strides,
 * dilations and explicit pads (auto_pad resolved), read against the static spatial sizes of its
 * input and output, plus a crop-or-pad emitter for the spatial axes.
 */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { VjpContext } from '../vjp-rule.js';

export interface PoolWindow {
  /** Spatial sizes of the input and the output (axes 2…). */
  readonly inSize: readonly number[];
  readonly outSize: readonly number[];
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** Explicit pads before and after each spatial axis (from `pads` or `auto_pad`). */
  readonly padBegin: readonly number[];
  readonly padEnd: readonly number[];
}

export function poolWindow(ctx: VjpContext): PoolWindow {
  const { attrs } = ctx;
  const xShape = ctx.shape(ctx.input(0));
  const yShape = ctx.shape(ctx.output(0));
  const r = xShape.length - 2;
  const spatial = (shape: readonly (number | null)[], what: string): number[] =>
    shape.slice(2).map((d, i) => d ?? ctx.unsupported(`${what} spatial axis ${i} has a size known only at run time`));
  const inSize = spatial(xShape, 'input');
  const outSize = spatial(yShape, 'output');
  const kernel = attrs.ints('kernel_shape');
  if (kernel.length !== r) ctx.unsupported(`kernel_shape [${kernel}] for an input of rank ${xShape.length}`);
  const strides = attrs.ints('strides', new Array<number>(r).fill(1));
  const dilations = attrs.ints('dilations', new Array<number>(r).fill(1));
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  let padBegin: number[];
  let padEnd: number[];
  if (autoPad === 'NOTSET') {
    const pads = attrs.ints('pads', new Array<number>(2 * r).fill(0));
    padBegin = pads.slice(0, r);
    padEnd = pads.slice(r);
  } else if (autoPad === 'VALID') {
    padBegin = new Array<number>(r).fill(0);
    padEnd = new Array<number>(r).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // The total pad makes the last window end at the input's end; the odd unit goes after (UPPER) or before (LOWER).
    const total = inSize.map((n, i) => Math.max((outSize[i]! - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - n, 0));
    padBegin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    padEnd = total.map((t, i) => t - padBegin[i]!);
  } else {
    ctx.unsupported(`auto_pad='${autoPad}'`);
  }
  return { inSize, outSize, kernel, strides, dilations, padBegin, padEnd };
}

/**
 * Grows (positive amounts, filled with `fill`) or crops (negative amounts) the spatial axes of a
 * rank-(2 + r) tensor. Crops use Slice and growth uses Pad, so mixed signs never depend on how a
 * runtime reads negative pads.
 */
export function cropOrPad(b: GraphBuilder, x: string, begin: readonly number[], end: readonly number[], fill: string | null, hint: string): string {
  const r = begin.length;
  const axes = Array.from({ length: r }, (_, i) => i + 2);
  let y = x;
  if (begin.some((p) => p < 0) || end.some((p) => p < 0)) {
    const starts = begin.map((p) => Math.max(-p, 0));
    // A negative end counts back from the axis end; zero means "keep to the end".
    const ends = end.map((p) => (p < 0 ? p : 2 ** 62));
    y = b.op('Slice', [y, b.int64s(starts), b.int64s(ends), b.int64s(axes)], {}, { name: `${hint}_crop` });
  }
  if (begin.some((p) => p > 0) || end.some((p) => p > 0)) {
    const pads = [0, 0, ...begin.map((p) => Math.max(p, 0)), 0, 0, ...end.map((p) => Math.max(p, 0))];
    y = b.op('Pad', fill ? [y, b.int64s(pads), fill] : [y, b.int64s(pads)], { mode: 'constant' }, { name: `${hint}_pad` });
  }
  return y;
}
