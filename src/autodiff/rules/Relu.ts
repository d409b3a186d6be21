/**
 * Relu: dX = dY · [X > 0] (0 at X = 0, as PyTorch). The mask is Sign(Y): Y = max(X, 0) is 0 or
 * positive, so Sign(Y) is exactly the indicator, and Mul by it is much cheaper in onnxruntime than
 * a Where over a bool mask.
 */
import type { VjpRule } from '../vjp-rule.js';

export const reluVjp: VjpRule = {
  opType: 'Relu',
  sinceVersion: 14,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const mask = b.op('Sign', [ctx.output(0)], {}, { name: 'Relu_mask' });
    return { X: b.op('Mul', [ctx.dY()!, mask], {}, { name: 'Relu_dX' }) };
  },
};
