/**
 * The resolved window geometry of a Conv or ConvTranspose node: kernel, strides, dilations,
 * explicit begin/end pads (auto_pad resolved the way onnxruntime resolves it) and group. The
 * gradient rules share it so that each handles auto_pad in one place.
 */
import type { VjpContext } from '../vjp-rule.js';

export interface ConvGeometry {
  /** Number of spatial axes. */
  readonly rank: number;
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padsBegin: readonly number[];
  readonly padsEnd: readonly number[];
  readonly group: number;
}

/** Extent of a dilated kernel along one axis. */
export function dilatedKernel(g: ConvGeometry, i: number): number {
  return (g.kernel[i]! - 1) * g.dilations[i]! + 1;
}

/** Static spatial sizes of a value (NC…); throws unsupported when one depends on the batch. */
export function spatialDims(ctx: VjpContext, value: string, what: string): number[] {
  const shape = ctx.shape(value);
  const dims = shape.slice(2);
  if (dims.some((d) => d === null)) ctx.unsupported(`${what} has spatial sizes that change with the batch ([${shape.map((d) => d ?? '?').join(', ')}])`);
  return dims as number[];
}

/** Attributes shared by Conv and ConvTranspose, with the kernel taken from W when not given. */
function commonAttributes(ctx: VjpContext, rank: number): Omit<ConvGeometry, 'padsBegin' | 'padsEnd'> & { pads: number[] } {
  const { attrs } = ctx;
  const wShape = ctx.shape(ctx.input(1));
  const fromW = wShape.slice(2);
  if (!attrs.has('kernel_shape') && fromW.some((d) => d === null)) ctx.unsupported('kernel_shape is not given and W has no static shape');
  const kernel = attrs.ints('kernel_shape', fromW as number[]);
  const ones = new Array<number>(rank).fill(1);
  const strides = attrs.ints('strides', ones);
  const dilations = attrs.ints('dilations', ones);
  const pads = attrs.ints('pads', new Array<number>(2 * rank).fill(0));
  const group = attrs.int('group', 1);
  if (kernel.length !== rank || strides.length !== rank || dilations.length !== rank || pads.length !== 2 * rank) {
    ctx.unsupported(
      `attribute lengths do not match ${rank} spatial axes (kernel_shape [${kernel}], strides [${strides}], dilations [${dilations}], pads [${pads}])`,
    );
  }
  if (pads.some((p) => p < 0)) ctx.unsupported(`negative pads [${pads}]`);
  return { rank, kernel, strides, dilations, pads, group };
}

/**
 * Conv geometry. SAME_UPPER/SAME_LOWER pad so the output has ceil(D/s) positions, splitting an
 * odd total with the extra cell at the end (UPPER) or the beginning (LOWER).
 */
export function convGeometry(ctx: VjpContext): ConvGeometry {
  const xShape = ctx.shape(ctx.input(0));
  const rank = xShape.length - 2;
  if (rank < 1) ctx.unsupported(`input of rank ${xShape.length}`);
  const base = commonAttributes(ctx, rank);
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const padsBegin = base.pads.slice(0, rank);
  const padsEnd = base.pads.slice(rank);
  if (autoPad === 'VALID') {
    padsBegin.fill(0);
    padsEnd.fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const dims = spatialDims(ctx, ctx.input(0), 'the input');
    const outDims = spatialDims(ctx, ctx.output(0), 'the output');
    for (let i = 0; i < rank; i++) {
      const d = dims[i]!;
      const s = base.strides[i]!;
      const k = base.kernel[i]!;
      const extent = (k - 1) * base.dilations[i]! + 1;
      const total = (Math.ceil(d / s) - 1) * s + extent - d;
      // A negative total (kernel smaller than the stride) gives onnxruntime negative pads,
      // which the gradients below do not model.
      if (total < 0) ctx.unsupported(`auto_pad='${autoPad}' with a kernel smaller than the stride (kernel ${k}, stride ${s})`);
      if (Math.floor((d + total - extent) / s) + 1 !== outDims[i]) {
        // (onnxruntime 1.30 refuses SAME with dilation; a runtime that pads otherwise lands here)
        ctx.unsupported(`auto_pad='${autoPad}': cannot reproduce the output size ${outDims[i]} along spatial axis ${i}`);
      }
      padsBegin[i] = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      padsEnd[i] = total - padsBegin[i]!;
    }
  } else if (autoPad !== 'NOTSET') {
    ctx.unsupported(`auto_pad='${autoPad}'`);
  }
  return { rank, kernel: base.kernel, strides: base.strides, dilations: base.dilations, padsBegin, padsEnd, group: base.group };
}

/**
 * ConvTranspose geometry with explicit pads. auto_pad SAME_* and output_shape are refused:
 * onnxruntime splits an odd total padding differently from the ONNX specification there, so a
 * gradient matching one would silently disagree with the other.
 */
export function convTransposeGeometry(ctx: VjpContext): ConvGeometry & { outputPadding: readonly number[] } {
  const xShape = ctx.shape(ctx.input(0));
  const rank = xShape.length - 2;
  if (rank < 1) ctx.unsupported(`input of rank ${xShape.length}`);
  const base = commonAttributes(ctx, rank);
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') ctx.unsupported(`auto_pad='${autoPad}' (give explicit pads instead)`);
  if (ctx.attrs.has('output_shape')) ctx.unsupported(`output_shape=[${ctx.attrs.ints('output_shape')}] (give explicit pads and output_padding instead)`);
  const outputPadding = ctx.attrs.ints('output_padding', new Array<number>(rank).fill(0));
  if (outputPadding.length !== rank) ctx.unsupported(`output_padding [${outputPadding}] for ${rank} spatial axes`);
  const zero = autoPad === 'VALID';
  return {
    rank,
    kernel: base.kernel,
    strides: base.strides,
    dilations: base.dilations,
    padsBegin: zero ? new Array<number>(rank).fill(0) : base.pads.slice(0, rank),
    padsEnd: zero ? new Array<number>(rank).fill(0) : base.pads.slice(rank),
    group: base.group,
    outputPadding,
  };
}

/** A static dimension of a value (channels, kernel size); throws unsupported when it is not. */
export function staticDim(ctx: VjpContext, value: string, axis: number, what: string): number {
  const d = ctx.shape(value)[axis];
  if (d === null || d === undefined) return ctx.unsupported(`${what} of '${value}' changes with the batch`);
  return d;
}
