/** Pow: Z = A^B; dA = unbroadcast(dY·B·A^(B−1)), dB = unbroadcast(dY·Z·ln A), taken as 0 where A = 0. */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const powVjp: VjpRule = {
  opType: 'Pow',
  sinceVersion: 15,
  inputs: ['X', 'Y'],
  vjp(ctx) {
    const { b } = ctx;
    const dZ = ctx.dY()!;
    const A = ctx.input(0);
    const B = ctx.input(1);
    const Z = ctx.output(0);
    const typeA = ctx.dataType(A);
    const typeB = ctx.dataType(B);
    let dA: string | null = null;
    if (ctx.needsGrad(0)) {
      const exponent = ctx.constant(B);
      if (exponent !== undefined && exponent.length > 0 && exponent.every((e) => e === 2)) {
        // x² is by far the commonest Pow (norms, variances): skip the second Pow.
        dA = b.op('Mul', [b.op('Mul', [dZ, A]), scalarLike(ctx, A, 2)], {}, { name: 'Pow_dA' });
      } else {
        // The exponent may be an integer tensor; the gradient is in the base's float type.
        const Bf = typeB === typeA ? B : b.op('Cast', [B], { to: typeA }, { name: 'Pow_exponent' });
        // A^(B−1) rather than Z/A, so that A = 0 with B ≥ 1 gives a finite gradient.
        const lowered = b.op('Pow', [A, b.op('Sub', [Bf, scalarLike(ctx, A, 1)])], {}, { name: 'Pow_lowered' });
        dA = b.op('Mul', [dZ, b.op('Mul', [Bf, lowered])], {}, { name: 'Pow_dA' });
      }
      dA = ctx.unbroadcast(dA, A);
    }
    let dB: string | null = null;
    if (ctx.needsGrad(1)) {
      // Z·ln A is 0·(−∞) at A = 0; the limit from A > 0 (for B > 0) is 0, as PyTorch uses.
      const atZero = b.op('Equal', [A, scalarLike(ctx, A, 0)], {}, { name: 'Pow_base_zero' });
      const raw = b.op('Mul', [dZ, b.op('Mul', [Z, b.op('Log', [A])])], {}, { name: 'Pow_dB_raw' });
      dB = b.op('Where', [atZero, scalarLike(ctx, A, 0), raw], {}, { name: 'Pow_dB' });
      if (typeB !== typeA) dB = b.op('Cast', [dB], { to: typeB }, { name: 'Pow_dB_cast' });
      dB = ctx.unbroadcast(dB, B);
    }
    return { X: dA, Y: dB };
  },
};
