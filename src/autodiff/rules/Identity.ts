/** Identity: dX = dY. */
import type { VjpRule } from '../vjp-rule.js';

export const identityVjp: VjpRule = {
  opType: 'Identity',
  sinceVersion: 13,
  inputs: ['input'],
  vjp: (ctx) => ({ input: ctx.dY()! }),
};
