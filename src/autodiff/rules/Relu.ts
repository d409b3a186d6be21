/**
 * Relu: dX = dY · [Y > 0] (0 at X = 0, as PyTorch): Y = max(X, 0) is 0 or positive, so the mask can
 * be read from the output. Cast(Greater(Y, 0)) · dY measured faster in onnxruntime than Sign(Y) · dY
 * (its Sign kernel is not vectorised) and than a Where over the bool mask.
 */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const reluVjp: VjpRule = {
  opType: 'Relu',
  sinceVersion: 14,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const Y = ctx.output(0);
    const mask = b.op('Cast', [b.op('Greater', [Y, scalarLike(ctx, Y, 0)])], { to: ctx.dataType(Y) }, { name: 'Relu_mask' });
    return { X: b.op('Mul', [ctx.dY()!, mask], {}, { name: 'Relu_dX' }) };
  },
};
