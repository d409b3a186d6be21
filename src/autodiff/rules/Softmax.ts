/** Softmax along `axis`: dX = Y · (dY − Σ_axis dY·Y). */
import type { VjpRule } from '../vjp-rule.js';

export const softmaxVjp: VjpRule = {
  opType: 'Softmax',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    const { b } = ctx;
    const dY = ctx.dY()!;
    const Y = ctx.output(0);
    const axis = ctx.attrs.int('axis', -1);
    const dot = b.op('ReduceSum', [b.op('Mul', [dY, Y]), b.int64s([axis])], { keepdims: 1 }, { name: 'Softmax_dot' });
    return { input: b.op('Mul', [Y, b.op('Sub', [dY, dot])], {}, { name: 'Softmax_dX' }) };
  },
};
