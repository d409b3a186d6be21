/** Conv: Y[n,m,o] = B[m] + Σ_{c∈group(m),k} W[m,c,k]·X_pad[n,c,o·s+k·d], so dX = dY ⋆ᵀ W, dW = dY ⋆ X, dB = Σ_{n,o} dY. */
import { DataType as DT } from '../../onnx/dtypes.js';
import { decodeTensor } from '../../onnx/tensor-proto.js';
import type { GraphBuilder } from '../../onnx/builder.js';
import type { VjpContext, VjpRule } from '../vjp-rule.js';
import { convGeometry, dilatedKernel, spatialDims, staticDim, type ConvGeometry } from './conv-geometry.js';
import { weightGradient, type WeightGradFormulation } from './conv-weight-grad.js';

/**
 * 'conv-transpose': ConvTranspose of dY with W (any geometry).
 * 'flipped-conv': a stride-1 Conv of dY with W transposed per group and flipped in space; it
 * parallelises better than ConvTranspose in onnxruntime and, with constant weights, takes the
 * blocked-layout (NCHWc) path. Where a stride is not 1, falls back to ConvTranspose.
 * 'auto': 'flipped-conv' unless X has fewer than 4 channels (the first layer of an image model):
 * the blocked layout pads the output channels to a block of 8, so ConvTranspose wins there.
 */
export type InputGradFormulation = 'auto' | 'conv-transpose' | 'flipped-conv';

export interface ConvVjpOptions {
  readonly inputGrad: InputGradFormulation;
  readonly weightGrad: WeightGradFormulation;
  /** Flip constant weights at build time (default) rather than with graph nodes. */
  readonly preflip?: boolean;
}

/** Measured fastest at 2 threads on the Madry MNIST CNN (bench/conv-grad-speed.ts). */
export const DEFAULT_CONV_VJP_OPTIONS: ConvVjpOptions = { inputGrad: 'auto', weightGrad: 'gather' };

export function makeConvVjp(options: ConvVjpOptions = DEFAULT_CONV_VJP_OPTIONS): VjpRule {
  return {
    opType: 'Conv',
    sinceVersion: 11,
    inputs: ['X', 'W', 'B'],
    vjp(ctx) {
      const dY = ctx.dY()!;
      const X = ctx.input(0);
      const W = ctx.input(1);
      const geom = convGeometry(ctx);
      const channels = staticDim(ctx, X, 1, 'the channel count');
      const filters = staticDim(ctx, W, 0, 'the filter count');
      if (channels % geom.group !== 0 || filters % geom.group !== 0)
        ctx.unsupported(`group=${geom.group} does not divide ${channels} input and ${filters} output channels`);
      const dims = spatialDims(ctx, X, 'the input');
      const outDims = spatialDims(ctx, ctx.output(0), 'the output');

      const dX = ctx.needsGrad(0) ? inputGradient(ctx, options, geom, dY, channels, filters, dims, outDims) : null;
      const dW = ctx.needsGrad(1)
        ? weightGradient(ctx.b, { a: X, aChannels: channels, aDims: dims, bValue: dY, bChannels: filters, bDims: outDims }, geom, options.weightGrad)
        : null;
      const dB = ctx.needsGrad(2)
        ? ctx.b.op('ReduceSum', [dY, ctx.b.int64s([0, ...outDims.map((_, i) => i + 2)])], { keepdims: 0 }, { name: 'Conv_dB' })
        : null;
      return { X: dX, W: dW, B: dB };
    },
  };
}

export const convVjp: VjpRule = makeConvVjp();

function inputGradient(
  ctx: VjpContext,
  options: ConvVjpOptions,
  g: ConvGeometry,
  dY: string,
  channels: number,
  filters: number,
  dims: readonly number[],
  outDims: readonly number[],
): string {
  const { b } = ctx;
  const W = ctx.input(1);
  const padsB = g.padsBegin.map((p, i) => dilatedKernel(g, i) - 1 - p);
  const padsE = g.padsEnd.map((p, i) => dilatedKernel(g, i) - 1 - p);
  const flippedFits = g.strides.every((s) => s === 1) && [...padsB, ...padsE].every((p) => p >= 0);
  const wanted = options.inputGrad === 'auto' ? channels >= 4 || g.group > 1 : options.inputGrad === 'flipped-conv';
  if (wanted && flippedFits) {
    const flipped = flippedWeights(ctx, W, g, channels, filters, options.preflip ?? true);
    return b.op(
      'Conv',
      [dY, flipped],
      { group: g.group, dilations: [...g.dilations], pads: [...padsB, ...padsE], kernel_shape: [...g.kernel] },
      { name: 'Conv_dX' },
    );
  }
  // Cells past the last window (when the windows do not tile the padded input exactly) get no
  // gradient: output_padding adds them back as zeros.
  const outputPadding = dims.map((d, i) => d + g.padsBegin[i]! + g.padsEnd[i]! - ((outDims[i]! - 1) * g.strides[i]! + dilatedKernel(g, i)));
  return b.op(
    'ConvTranspose',
    [dY, W],
    {
      group: g.group,
      strides: [...g.strides],
      dilations: [...g.dilations],
      pads: [...g.padsBegin, ...g.padsEnd],
      output_padding: outputPadding.some((p) => p !== 0) ? outputPadding : undefined,
      kernel_shape: [...g.kernel],
    },
    { name: 'Conv_dX' },
  );
}

/**
 * W [M, C/g, k…] as a Conv weight from dY's M channels to X's C channels: [C, M/g, k…], flipped
 * along every spatial axis. Constant weights that are not being differentiated (so never fed as
 * graph inputs) are flipped now, into a new initializer onnxruntime can pre-pack; others get the
 * equivalent Reshape/Transpose/Slice nodes.
 */
function flippedWeights(ctx: VjpContext, W: string, g: ConvGeometry, channels: number, filters: number, preflip: boolean): string {
  const { b } = ctx;
  const groups = g.group;
  const mG = filters / groups;
  const cG = channels / groups;
  const init = b.graph.initializers.get(W);
  const isInput = b.graph.inputs.some((v) => v.name === W);
  if (preflip && init && !isInput && !ctx.needsGrad(1) && (init.dataType === DT.FLOAT || init.dataType === DT.DOUBLE)) {
    const src = decodeTensor(init).data as Float32Array | Float64Array;
    const dst = init.dataType === DT.FLOAT ? new Float32Array(src.length) : new Float64Array(src.length);
    const kSize = src.length / (filters * cG);
    for (let gi = 0; gi < groups; gi++) {
      for (let m = 0; m < mG; m++) {
        for (let c = 0; c < cG; c++) {
          const from = ((gi * mG + m) * cG + c) * kSize;
          const to = ((gi * cG + c) * mG + m) * kSize;
          // Reversing the row-major flat kernel index reverses every spatial axis at once.
          for (let k = 0; k < kSize; k++) dst[to + kSize - 1 - k] = src[from + k]!;
        }
      }
    }
    return b.constant(init.dataType, [channels, mG, ...g.kernel], dst, 'Conv_flipped_W');
  }
  return flipNodes(b, W, g, channels, filters);
}

function flipNodes(b: GraphBuilder, W: string, g: ConvGeometry, channels: number, filters: number): string {
  const groups = g.group;
  const spatial = g.kernel.map((_, i) => i + 3);
  let w = W;
  if (filters / groups !== 1 || channels / groups !== 1) {
    const grouped = b.op('Reshape', [W, b.int64s([groups, filters / groups, channels / groups, ...g.kernel])], {}, { name: 'Conv_flip_W' });
    const swapped = b.op('Transpose', [grouped], { perm: [0, 2, 1, ...spatial] }, { name: 'Conv_flip_W' });
    w = b.op('Reshape', [swapped, b.int64s([channels, filters / groups, ...g.kernel])], {}, { name: 'Conv_flip_W' });
  }
  const axes = g.kernel.map((_, i) => i + 2);
  return b.op(
    'Slice',
    [w, b.int64s(axes.map(() => -1)), b.int64s(g.kernel.map((k) => -k - 1)), b.int64s(axes), b.int64s(axes.map(() => -1))],
    {},
    { name: 'Conv_flip_W' },
  );
}
