/**
 * MatMul (numpy semantics): Y = A·B over broadcast batch dims, so dA = dY·Bᵀ and dB = Aᵀ·dY,
 * summed over the batch dims each operand was broadcast along. A 1-D A is a row [1, k] and a
 * 1-D B a column [k, 1] whose unit dim Y drops.
 */
import { unbroadcast } from '../backprop.js';
import type { VjpRule } from '../vjp-rule.js';
import { dimOf, int64Vector } from './common.js';

export const matMulVjp: VjpRule = {
  opType: 'MatMul',
  sinceVersion: 13,
  inputs: ['A', 'B'],
  vjp(ctx) {
    const { b } = ctx;
    const A = ctx.input(0);
    const B = ctx.input(1);
    const aShape = ctx.shape(A);
    const bShape = ctx.shape(B);
    const ra = aShape.length;
    const rb = bShape.length;
    const dY = ctx.dY()!;
    const want = { A: ctx.needsGrad(0), B: ctx.needsGrad(1) };

    if (ra === 2 && rb === 2) {
      // Gemm's transpose flags spare the Transpose nodes.
      return {
        A: want.A ? b.op('Gemm', [dY, B], { transB: 1 }, { name: 'MatMul_dA' }) : null,
        B: want.B ? b.op('Gemm', [A, dY], { transA: 1 }, { name: 'MatMul_dB' }) : null,
      };
    }

    // Restore the unit dims that 1-D operands lost, so every product below is a plain batched MatMul.
    const lost = [...(ra === 1 ? [-2] : []), ...(rb === 1 ? [-1] : [])];
    const dY2 = lost.length ? b.op('Unsqueeze', [dY, b.int64s(ra === 1 && rb === 1 ? [0, 1] : lost)]) : dY;
    const yShape = ctx.shape(ctx.output(0));
    const batch = yShape.slice(0, yShape.length - (2 - lost.length));
    const n = ra === 1 ? 1 : aShape[ra - 2]!;
    const k = aShape[ra - 1]!;
    const m = rb === 1 ? 1 : bShape[rb - 1]!;
    const swapLast = (v: string, rank: number): string =>
      rank === 1 ? v : b.op('Transpose', [v], { perm: [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2] });

    let dA: string | null = null;
    if (want.A) {
      const bT = rb === 1 ? b.op('Unsqueeze', [B, b.int64s([0])]) : swapLast(B, rb);
      const full = b.op('MatMul', [dY2, bT], {}, { name: 'MatMul_dA' });
      const rank = batch.length + 2;
      dA =
        ra === 1
          ? b.op('ReduceSum', [full, b.int64s(Array.from({ length: rank - 1 }, (_, i) => i))], { keepdims: 0 }, { name: 'MatMul_dA' })
          : unbroadcast(b, full, [...batch, n, k], A, aShape);
    }

    let dB: string | null = null;
    if (want.B) {
      if (rb === 2 && ra >= 3) {
        // All of A's rows meet the same B: one [k, rows]·[rows, m] product, no batched intermediate.
        const rowsA = b.op('Reshape', [A, int64Vector(b, [-1, k ?? dimOf(b, A, ra - 1)])], {}, { name: 'MatMul_rows' });
        const rowsDY = b.op('Reshape', [dY, int64Vector(b, [-1, m ?? dimOf(b, B, 1)])], {}, { name: 'MatMul_rows' });
        dB = b.op('Gemm', [rowsA, rowsDY], { transA: 1 }, { name: 'MatMul_dB' });
      } else {
        const aT = ra === 1 ? b.op('Unsqueeze', [A, b.int64s([1])]) : swapLast(A, ra);
        const full = b.op('MatMul', [aT, dY2], {}, { name: 'MatMul_dB' });
        const rank = batch.length + 2;
        dB =
          rb === 1
            ? b.op('ReduceSum', [full, b.int64s([...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1])], { keepdims: 0 }, { name: 'MatMul_dB' })
            : unbroadcast(b, full, [...batch, k, m], B, bShape);
      }
    }
    return { A: dA, B: dB };
  },
};
