/**
 * DynamicQuantizeLinear: y_scale = (max(0, max x) − min(0, min x)) / 255,
 * y_zero_point = saturate(round(−min(0, min x) / y_scale)), y = saturate(round(x / y_scale) + y_zero_point)
 * (uint8). Its consumers (MatMulInteger, ConvInteger) give dy in "raw" units (quantised-operands.ts).
 *
 * Straight-through estimate (reported per node): the rounding is taken as the identity, so
 * y ≈ x / y_scale + y_zero_point and dx = dy / y_scale. The range covers every x, so nothing
 * saturates. Gradients arriving at y_scale and y_zero_point are dropped on purpose: under the same
 * estimate the dequantised value (y − y_zero_point)·y_scale equals x whatever the scale, so the
 * scale's influence on the output cancels; following it through Mul(scale) alone would add a
 * spurious term that the min/max make depend on a single extreme entry of x.
 */
import type { VjpRule } from '../vjp-rule.js';

export const dynamicQuantizeLinearVjp: VjpRule = {
  opType: 'DynamicQuantizeLinear',
  sinceVersion: 11,
  inputs: ['x'],
  quantised: 'straight-through',
  vjp(ctx) {
    const dY = ctx.dY(0);
    return { x: dY ? ctx.b.op('Div', [dY, ctx.output(1)], {}, { name: 'DynamicQuantizeLinear_dx' }) : null };
  },
};
