/** Gemm: Y = alpha·A'·B' + beta·C, A' = transA ? Aᵀ : A, B' = transB ? Bᵀ : B (A, B 2-D). */
import { float } from '../../onnx/attributes.js';
import type { VjpRule } from '../vjp-rule.js';

export const gemmVjp: VjpRule = {
  opType: 'Gemm',
  sinceVersion: 13,
  inputs: ['A', 'B', 'C'],
  vjp(ctx) {
    const { b, attrs } = ctx;
    const dY = ctx.dY()!;
    const alpha = attrs.float('alpha', 1);
    const beta = attrs.float('beta', 1);
    const transA = attrs.int('transA', 0);
    const transB = attrs.int('transB', 0);
    const A = ctx.input(0);
    const B = ctx.input(1);
    // dA' = dY·B'ᵀ, dB' = A'ᵀ·dY; with transposes folded into Gemm's own flags.
    const dA = ctx.needsGrad(0)
      ? transA
        ? b.op('Gemm', [B, dY], { alpha: float(alpha), transA: transB, transB: 1 }, { name: 'Gemm_dA' }) // dA = (dY·B'ᵀ)ᵀ = B'·dYᵀ
        : b.op('Gemm', [dY, B], { alpha: float(alpha), transA: 0, transB: transB ? 0 : 1 }, { name: 'Gemm_dA' })
      : null;
    const dB = ctx.needsGrad(1)
      ? transB
        ? b.op('Gemm', [dY, A], { alpha: float(alpha), transA: 1, transB: transA }, { name: 'Gemm_dB' }) // dB = (A'ᵀ·dY)ᵀ = dYᵀ·A'
        : b.op('Gemm', [A, dY], { alpha: float(alpha), transA: transA ? 0 : 1, transB: 0 }, { name: 'Gemm_dB' })
      : null;
    let dC: string | null = null;
    if (ctx.needsGrad(2)) {
      const scaled = beta === 1 ? dY : b.op('Mul', [dY, b.scalar(beta, ctx.dataType(ctx.output(0)))]);
      dC = ctx.unbroadcast(scaled, ctx.input(2));
    }
    return { A: dA, B: dB, C: dC };
  },
};
