/** ConvTranspose: Y_pad[n,m,i·s+k·d] += Σ_{c∈group(m)} X[n,c,i]·W[c,m,k] (+ B[m]), so dX = Conv(dY, W), dW = X ⋆ dY_pad, dB = Σ_{n,o} dY. */
import type { VjpRule } from '../vjp-rule.js';
import { convTransposeGeometry, spatialDims, staticDim } from './conv-geometry.js';
import { weightGradient, type WeightGradFormulation } from './conv-weight-grad.js';

export function makeConvTransposeVjp(weightGrad: WeightGradFormulation = 'gather'): VjpRule {
  return {
    opType: 'ConvTranspose',
    sinceVersion: 11,
    inputs: ['X', 'W', 'B'],
    vjp(ctx) {
      const { b } = ctx;
      const dY = ctx.dY()!;
      const X = ctx.input(0);
      const W = ctx.input(1);
      const g = convTransposeGeometry(ctx);
      const channels = staticDim(ctx, X, 1, 'the channel count');
      const perGroup = staticDim(ctx, W, 1, 'the filters per group');
      if (channels % g.group !== 0) ctx.unsupported(`group=${g.group} does not divide ${channels} input channels`);
      const filters = perGroup * g.group;
      const dims = spatialDims(ctx, X, 'the input');
      const outDims = spatialDims(ctx, ctx.output(0), 'the output');
      const spatialAxes = dims.map((_, i) => i + 2);

      let dX: string | null = null;
      if (ctx.needsGrad(0)) {
        // The Conv with the same geometry maps dY back onto X's grid; output_padding cells (and
        // end padding beyond the last window) carry no X contribution, so the end pad shrinks by
        // output_padding, cropping dY where that would go negative.
        const endPads = g.padsEnd.map((p, i) => p - g.outputPadding[i]!);
        let source = dY;
        if (endPads.some((p) => p < 0)) {
          const ends = outDims.map((o, i) => o + Math.min(0, endPads[i]!));
          source = b.op('Slice', [dY, b.int64s(dims.map(() => 0)), b.int64s(ends), b.int64s(spatialAxes)], {}, { name: 'ConvTranspose_dX_crop' });
        }
        dX = b.op(
          'Conv',
          [source, W],
          {
            group: g.group,
            strides: [...g.strides],
            dilations: [...g.dilations],
            pads: [...g.padsBegin, ...endPads.map((p) => Math.max(0, p))],
            kernel_shape: [...g.kernel],
          },
          { name: 'ConvTranspose_dX' },
        );
      }
      const dW = ctx.needsGrad(1)
        ? weightGradient(b, { a: dY, aChannels: filters, aDims: outDims, bValue: X, bChannels: channels, bDims: dims }, g, weightGrad)
        : null;
      const dB = ctx.needsGrad(2) ? b.op('ReduceSum', [dY, b.int64s([0, ...spatialAxes])], { keepdims: 0 }, { name: 'ConvTranspose_dB' }) : null;
      return { X: dX, W: dW, B: dB };
    },
  };
}

export const convTransposeVjp: VjpRule = makeConvTransposeVjp();
