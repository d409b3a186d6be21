/**
 * MatMulInteger: Y = (A − a_zero_point)·(B − b_zero_point) in int32, the exact product of the
 * zero-shifted operands, so its gradient is MatMul's with those operands in float:
 * dA = dY·(B − b_zp)ᵀ, dB = (A − a_zp)ᵀ·dY. Gradients with respect to the integers A and B are in
 * "raw" units (quantised-operands.ts): the scales are applied by the float ops after the Cast.
 * a_zero_point is a scalar or per row of A, b_zero_point a scalar or per column of B.
 */
import type { VjpRule } from '../vjp-rule.js';
import { matMulVjp } from './MatMul.js';
import { dequantised, floatView } from './quantised-operands.js';

export const matMulIntegerVjp: VjpRule = {
  opType: 'MatMulInteger',
  sinceVersion: 10,
  inputs: ['A', 'B', 'a_zero_point', 'b_zero_point'],
  quantised: 'exact',
  vjp(ctx) {
    const A = ctx.input(0);
    const B = ctx.input(1);
    // Each operand is needed only for the other's gradient.
    const a = ctx.needsGrad(1) ? dequantised(ctx, A, ctx.input(2), '', -2) : A;
    const b = ctx.needsGrad(0) ? dequantised(ctx, B, ctx.input(3), '', -1) : B;
    const g = matMulVjp.vjp(
      floatView(ctx, [
        { value: a, replaces: A, needsGrad: ctx.needsGrad(0) },
        { value: b, replaces: B, needsGrad: ctx.needsGrad(1) },
      ]),
    );
    return { A: g.A ?? null, B: g.B ?? null, a_zero_point: null, b_zero_point: null };
  },
};
