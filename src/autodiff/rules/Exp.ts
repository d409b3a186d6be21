/** Exp: dX = dY·Y. */
import type { VjpRule } from '../vjp-rule.js';

export const expVjp: VjpRule = {
  opType: 'Exp',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    return { input: ctx.b.op('Mul', [ctx.dY()!, ctx.output(0)], {}, { name: 'Exp_dX' }) };
  },
};
