/**
 * QLinearConv: y = saturate(round((Conv(x_deq, w_deq) + B·x_scale·w_scale) / y_scale) + y_zero_point)
 * with x_deq = (x − x_zero_point)·x_scale and w_deq = (w − w_zero_point)·w_scale (w_scale and
 * w_zero_point per tensor or per output channel); B is int32 with scale x_scale·w_scale.
 * Gradients are in "dequantised" units (quantised-operands.ts): the convolution is Conv's exactly
 * (Conv.ts, with x_deq and w_deq), dB is the sum of dY over batch and space. The rounding of y is
 * straight-through and its saturation clipped (no gradient where y saturated, found by recomputing
 * the convolution in float; a ReLU fused into the output range acts here), so the node is reported
 * as a straight-through estimate. Scales and zero points get no gradient.
 */
import { DataType as DT } from '../../onnx/dtypes.js';
import type { VjpRule } from '../vjp-rule.js';
import { convVjp } from './Conv.js';
import { convGeometry } from './conv-geometry.js';
import { dequantised, floatView, unsaturated } from './quantised-operands.js';

export const qLinearConvVjp: VjpRule = {
  opType: 'QLinearConv',
  sinceVersion: 10,
  inputs: ['x', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale', 'y_zero_point', 'B'],
  quantised: 'straight-through',
  vjp(ctx) {
    const { b } = ctx;
    const x = ctx.input(0);
    const w = ctx.input(3);
    const bias = ctx.input(8);
    const xf = dequantised(ctx, x, ctx.input(2), ctx.input(1), 1);
    const wf = dequantised(ctx, w, ctx.input(5), ctx.input(4), 0);
    const accInputs = [xf, wf];
    if (bias) {
      const scale = b.op('Mul', [ctx.input(1), ctx.input(4)], {}, { name: 'QLinearConv_bias_scale' });
      accInputs.push(b.op('Mul', [b.op('Cast', [bias], { to: DT.FLOAT }), scale], {}, { name: 'QLinearConv_bias' }));
    }
    const operands = [
      { value: xf, replaces: x, needsGrad: ctx.needsGrad(0) },
      { value: wf, replaces: w, needsGrad: ctx.needsGrad(3) },
    ];
    if (bias) operands.push({ value: bias, replaces: bias, needsGrad: ctx.needsGrad(8) });
    const view = floatView(ctx, operands);
    const geom = convGeometry(view);
    const acc = b.op(
      'Conv',
      accInputs,
      {
        kernel_shape: [...geom.kernel],
        strides: [...geom.strides],
        dilations: [...geom.dilations],
        pads: [...geom.padsBegin, ...geom.padsEnd],
        group: geom.group,
      },
      { name: 'QLinearConv_acc' },
    );
    const dY = unsaturated(ctx, ctx.dY()!, acc, ctx.input(6), ctx.input(7), ctx.dataType(ctx.output(0)));
    const g = convVjp.vjp({ ...view, dY: () => dY });
    return {
      x: g.X ?? null,
      x_scale: null,
      x_zero_point: null,
      w: g.W ?? null,
      w_scale: null,
      w_zero_point: null,
      y_scale: null,
      y_zero_point: null,
      B: g.B ?? null,
    };
  },
};
