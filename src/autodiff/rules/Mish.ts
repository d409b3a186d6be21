/** Mish: Y = X·tanh(softplus(X)); dX = dY·(t + X·σ(X)·(1 − t²)) with t = tanh(softplus(X)). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const mishVjp: VjpRule = {
  opType: 'Mish',
  sinceVersion: 18,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    // t is recomputed rather than taken as Y/X, which is undefined at X = 0.
    const t = b.op('Tanh', [b.op('Softplus', [X])], {}, { name: 'Mish_t' });
    const sech2 = b.op('Sub', [scalarLike(ctx, X, 1), b.op('Mul', [t, t])], {}, { name: 'Mish_sech2' });
    // σ(X)·sech² first: onnxruntime fuses a direct X·σ(X) into QuickGelu, which has no float64 kernel.
    const second = b.op('Mul', [X, b.op('Mul', [b.op('Sigmoid', [X]), sech2])], {}, { name: 'Mish_second' });
    return { X: b.op('Mul', [ctx.dY()!, b.op('Add', [t, second])], {}, { name: 'Mish_dX' }) };
  },
};
