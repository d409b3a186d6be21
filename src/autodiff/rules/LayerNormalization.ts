/** LayerNormalization: Y = x̂·Scale + B with x̂ = (X − μ)/√(σ² + ε) over axes [axis, rank); also outputs μ and 1/√(σ² + ε). */
import type { VjpRule } from '../vjp-rule.js';
import { normalizeAxis, scalarLike, shapeOf } from './common.js';
import { standardize, standardizeBackward } from './normalization.js';

export const layerNormalizationVjp: VjpRule = {
  opType: 'LayerNormalization',
  sinceVersion: 17,
  inputs: ['X', 'Scale', 'B'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const type = ctx.dataType(X);
    const shape = ctx.shape(X);
    const axis = normalizeAxis(ctx.attrs.int('axis', -1), shape.length);
    const axes = Array.from({ length: shape.length - axis }, (_, i) => axis + i);
    const s = standardize(ctx, X, axes, ctx.attrs.float('epsilon', 1e-5));
    const dY = ctx.dY(0);
    // The statistics' gradients arrive in their stash type (float32 in onnxruntime); work in X's.
    const asX = (v: string | null, out: number): string | null =>
      v && ctx.dataType(ctx.output(out)) !== type ? b.op('Cast', [v], { to: type }, { name: 'LayerNormalization_cast' }) : v;
    const dMean = asX(ctx.dY(1), 1);
    const dInvStd = asX(ctx.dY(2), 2);

    let dX: string | null = null;
    if (ctx.needsGrad(0)) {
      const terms: string[] = [];
      if (dY) terms.push(standardizeBackward(ctx, s, b.op('Mul', [dY, ctx.input(1)], {}, { name: 'LayerNormalization_g' }), axes));
      if (dMean || dInvStd) {
        const size = axes.map((a) => shape[a]);
        if (size.some((d) => d === null)) ctx.unsupported('gradients through Mean/InvStdDev with normalised axes of run-time size');
        const inv = scalarLike(ctx, X, 1 / (size as number[]).reduce((a, c) => a * c, 1));
        // ∂μ/∂X = 1/M; ∂ρ/∂X = −ρ²·x̂/M.
        if (dMean) terms.push(b.op('Mul', [dMean, inv], {}, { name: 'LayerNormalization_dmean' }));
        if (dInvStd) {
          const rho2 = b.op('Mul', [s.invStd, s.invStd]);
          const coeff = b.op('Neg', [b.op('Mul', [b.op('Mul', [dInvStd, rho2]), inv])]);
          terms.push(b.op('Mul', [coeff, s.xhat], {}, { name: 'LayerNormalization_dinvstd' }));
        }
      }
      dX = terms.reduce((acc, t) => b.op('Add', [acc, t], {}, { name: 'LayerNormalization_dX' }));
      // Without dY, dμ alone has the statistics' shape (normalised axes of size 1).
      if (!dY && !dInvStd) dX = b.op('Expand', [dX, shapeOf(b, X, shape)], {}, { name: 'LayerNormalization_dX' });
    }
    // Scale and B reach only Y: without dY they get no gradient (null).
    const dScale = ctx.needsGrad(1) && dY ? ctx.unbroadcast(b.op('Mul', [dY, s.xhat], {}, { name: 'LayerNormalization_dScale' }), ctx.input(1)) : null;
    const dB = ctx.needsGrad(2) && dY ? ctx.unbroadcast(dY, ctx.input(2)) : null;
    return { X: dX, Scale: dScale, B: dB };
  },
};
