/** Softsign: Y = X / (1 + |X|); dX = dY / (1 + |X|)². */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const softsignVjp: VjpRule = {
  opType: 'Softsign',
  sinceVersion: 1,
  inputs: ['input'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    // From X rather than from 1 − |Y|, which cancels catastrophically for large |X|.
    const denom = b.op('Add', [b.op('Abs', [X]), scalarLike(ctx, X, 1)], {}, { name: 'Softsign_denom' });
    return { input: b.op('Div', [ctx.dY()!, b.op('Mul', [denom, denom])], {}, { name: 'Softsign_dX' }) };
  },
};
