/** InstanceNormalization: Y = scale_c·x̂ + B_c with x̂ = (X − μ)/√(σ² + ε) over the spatial axes of each (n, c). */
import type { VjpRule } from '../vjp-rule.js';
import { allButChannel, perChannel, standardize, standardizeBackward } from './normalization.js';

export const instanceNormalizationVjp: VjpRule = {
  opType: 'InstanceNormalization',
  sinceVersion: 6,
  inputs: ['input', 'scale', 'B'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const dY = ctx.dY()!;
    const rank = ctx.rank(X);
    const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    const s = standardize(ctx, X, spatial, ctx.attrs.float('epsilon', 1e-5));
    const dX = ctx.needsGrad(0)
      ? standardizeBackward(ctx, s, b.op('Mul', [dY, perChannel(ctx, ctx.input(1), rank)], {}, { name: 'InstanceNormalization_g' }), spatial)
      : null;
    const sum = (v: string): string => b.op('ReduceSum', [v, b.int64s(allButChannel(rank))], { keepdims: 0 }, { name: 'InstanceNormalization_sum' });
    return {
      input: dX,
      scale: ctx.needsGrad(1) ? sum(b.op('Mul', [dY, s.xhat])) : null,
      B: ctx.needsGrad(2) ? sum(dY) : null,
    };
  },
};
