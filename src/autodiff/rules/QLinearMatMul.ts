/**
 * QLinearMatMul: y = saturate(round(a_deq·b_deq / y_scale) + y_zero_point), where
 * a_deq = (a − a_zero_point)·a_scale (per tensor or per row) and b_deq likewise (per column).
 * Gradients are in "dequantised" units (quantised-operands.ts): the product is MatMul's exactly,
 * dA = dY·b_deqᵀ and dB = a_deqᵀ·dY; the rounding of y is straight-through and its saturation
 * clipped (no gradient where y saturated, found by recomputing a_deq·b_deq in float), so the node
 * is reported as a straight-through estimate. Scales and zero points get no gradient.
 */
import type { VjpRule } from '../vjp-rule.js';
import { matMulVjp } from './MatMul.js';
import { dequantised, floatView, unsaturated } from './quantised-operands.js';

export const qLinearMatMulVjp: VjpRule = {
  opType: 'QLinearMatMul',
  sinceVersion: 10,
  inputs: ['a', 'a_scale', 'a_zero_point', 'b', 'b_scale', 'b_zero_point', 'y_scale', 'y_zero_point'],
  quantised: 'straight-through',
  vjp(ctx) {
    const a = ctx.input(0);
    const b = ctx.input(3);
    const af = dequantised(ctx, a, ctx.input(2), ctx.input(1), -2);
    const bf = dequantised(ctx, b, ctx.input(5), ctx.input(4), -1);
    const acc = ctx.b.op('MatMul', [af, bf], {}, { name: 'QLinearMatMul_acc' });
    const dY = unsaturated(ctx, ctx.dY()!, acc, ctx.input(6), ctx.input(7), ctx.dataType(ctx.output(0)));
    const g = matMulVjp.vjp({
      ...floatView(ctx, [
        { value: af, replaces: a, needsGrad: ctx.needsGrad(0) },
        { value: bf, replaces: b, needsGrad: ctx.needsGrad(3) },
      ]),
      dY: () => dY,
    });
    return { a: g.A ?? null, a_scale: null, a_zero_point: null, b: g.B ?? null, b_scale: null, b_zero_point: null, y_scale: null, y_zero_point: null };
  },
};
