/** Max (variadic, broadcasting): dX_i = unbroadcast(dY·[X_i = Y] / #{j : X_j = Y}); ties split equally. */
import type { VjpRule } from '../vjp-rule.js';
import { splitAmongTies } from './extremum-ties.js';

export const maxVjp: VjpRule = {
  opType: 'Max',
  sinceVersion: 13,
  inputs: 'variadic',
  vjp: (ctx) => splitAmongTies(ctx, 'Max'),
};
