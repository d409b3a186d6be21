/**
 * DequantizeLinear: y = (x − x_zero_point)·x_scale. Affine in x, hence differentiable; with the
 * gradient of an integer x taken in "dequantised" units (quantised-operands.ts), dx = dY (a scale
 * or zero point given per axis keeps x's shape, so nothing is summed). The quantiser in front,
 * QuantizeLinear, stays non-differentiable (zero gradient, or straight-through under the
 * 'identity' policy), so QuantizeLinear → DequantizeLinear (a quantisation defense) keeps its
 * zero gradient by default. Scales and zero points get no gradient.
 */
import type { VjpRule } from '../vjp-rule.js';

export const dequantizeLinearVjp: VjpRule = {
  opType: 'DequantizeLinear',
  sinceVersion: 10,
  inputs: ['x', 'x_scale', 'x_zero_point'],
  quantised: 'exact',
  vjp: (ctx) => ({ x: ctx.dY()!, x_scale: null, x_zero_point: null }),
};
