/**
 * ConvInteger: Y = Conv(x − x_zero_point, w − w_zero_point) in int32 (no bias), the exact
 * convolution of the zero-shifted operands, so its gradient is Conv's (Conv.ts) with those operands
 * in float. Gradients with respect to the integers x and w are in "raw" units
 * (quantised-operands.ts). w_zero_point is a scalar or one per output channel.
 */
import type { VjpRule } from '../vjp-rule.js';
import { convVjp } from './Conv.js';
import { dequantised, floatView } from './quantised-operands.js';

export const convIntegerVjp: VjpRule = {
  opType: 'ConvInteger',
  sinceVersion: 10,
  inputs: ['x', 'w', 'x_zero_point', 'w_zero_point'],
  quantised: 'exact',
  vjp(ctx) {
    const x = ctx.input(0);
    const w = ctx.input(1);
    const xf = dequantised(ctx, x, ctx.input(2), '', 1);
    const wf = dequantised(ctx, w, ctx.input(3), '', 0);
    const g = convVjp.vjp(
      floatView(ctx, [
        { value: xf, replaces: x, needsGrad: ctx.needsGrad(0) },
        { value: wf, replaces: w, needsGrad: ctx.needsGrad(1) },
      ]),
    );
    return { x: g.X ?? null, w: g.W ?? null, x_zero_point: null, w_zero_point: null };
  },
};
