/** Erf: dX = dY·(2/√π)·exp(−X²). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const erfVjp: VjpRule = {
  opType: 'Erf',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const negSquare = b.op('Mul', [X, b.op('Neg', [X])], {}, { name: 'Erf_negsq' });
    const density = b.op('Mul', [b.op('Exp', [negSquare]), scalarLike(ctx, X, 2 / Math.sqrt(Math.PI))], {}, { name: 'Erf_slope' });
    return { input: b.op('Mul', [ctx.dY()!, density], {}, { name: 'Erf_dX' }) };
  },
};
