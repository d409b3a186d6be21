/** BatchNormalization (inference): Y = scale·(X − mean)·ρ + B per channel (axis 1), ρ = 1/√(var + ε) from the running statistics. */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';
import { allButChannel, perChannel } from './normalization.js';

export const batchNormalizationVjp: VjpRule = {
  opType: 'BatchNormalization',
  sinceVersion: 15,
  inputs: ['X', 'scale', 'B', 'input_mean', 'input_var'],
  vjp(ctx) {
    const { b } = ctx;
    // Training mode normalises with the batch's own statistics: a different function, not yet derived here.
    if (ctx.attrs.int('training_mode', 0) !== 0) ctx.unsupported('training_mode=1 (batch statistics)');
    const [X, scale, , mean, variance] = [0, 1, 2, 3, 4].map((i) => ctx.input(i)) as [string, string, string, string, string];
    const dY = ctx.dY(0)!;
    const rank = ctx.rank(X);
    const ch = (v: string): string => perChannel(ctx, v, rank);
    const sum = (v: string): string => b.op('ReduceSum', [v, b.int64s(allButChannel(rank))], { keepdims: 0 }, { name: 'BatchNormalization_sum' });
    // Per-channel constants (folded by onnxruntime when the statistics are initializers).
    const invStd = b.op(
      'Reciprocal',
      [b.op('Sqrt', [b.op('Add', [variance, scalarLike(ctx, X, ctx.attrs.float('epsilon', 1e-5))])])],
      {},
      { name: 'BatchNormalization_invstd' },
    );
    const gain = b.op('Mul', [scale, invStd], {}, { name: 'BatchNormalization_gain' });

    const dX = ctx.needsGrad(0) ? b.op('Mul', [dY, ch(gain)], {}, { name: 'BatchNormalization_dX' }) : null;
    const dB = ctx.needsGrad(2) || ctx.needsGrad(3) ? sum(dY) : null;
    // Σ dY·(X − mean) serves scale and var.
    const dCentered = ctx.needsGrad(1) || ctx.needsGrad(4) ? sum(b.op('Mul', [dY, b.op('Sub', [X, ch(mean)])])) : null;
    const dScale = ctx.needsGrad(1) ? b.op('Mul', [dCentered!, invStd], {}, { name: 'BatchNormalization_dscale' }) : null;
    const dMean = ctx.needsGrad(3) ? b.op('Neg', [b.op('Mul', [dB!, gain])], {}, { name: 'BatchNormalization_dmean' }) : null;
    // ∂ρ/∂var = −ρ³/2.
    const dVar = ctx.needsGrad(4)
      ? b.op(
          'Mul',
          [b.op('Mul', [dCentered!, gain]), b.op('Mul', [b.op('Mul', [invStd, invStd]), scalarLike(ctx, X, -0.5)])],
          {},
          { name: 'BatchNormalization_dvar' },
        )
      : null;
    return { X: dX, scale: dScale, B: ctx.needsGrad(2) ? dB : null, input_mean: dMean, input_var: dVar };
  },
};
