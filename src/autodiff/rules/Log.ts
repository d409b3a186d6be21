/** Log: dX = dY / X. */
import type { VjpRule } from '../vjp-rule.js';

export const logVjp: VjpRule = {
  opType: 'Log',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    return { input: ctx.b.op('Div', [ctx.dY()!, ctx.input(0)], {}, { name: 'Log_dX' }) };
  },
};
