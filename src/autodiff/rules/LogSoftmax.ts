/** LogSoftmax along `axis`: dX = dY − softmax(X) · Σ_axis dY. */
import type { VjpRule } from '../vjp-rule.js';

export const logSoftmaxVjp: VjpRule = {
  opType: 'LogSoftmax',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    const { b } = ctx;
    const dY = ctx.dY()!;
    const axis = ctx.attrs.int('axis', -1);
    const softmax = b.op('Exp', [ctx.output(0)], {}, { name: 'LogSoftmax_p' });
    const total = b.op('ReduceSum', [dY, b.int64s([axis])], { keepdims: 1 }, { name: 'LogSoftmax_sum' });
    return { input: b.op('Sub', [dY, b.op('Mul', [softmax, total])], {}, { name: 'LogSoftmax_dX' }) };
  },
};
