/** Where(C, X, Y): dX = unbroadcast(C ? dZ : 0), dY = unbroadcast(C ? 0 : dZ). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const whereVjp: VjpRule = {
  opType: 'Where',
  sinceVersion: 16,
  inputs: ['condition', 'X', 'Y'],
  vjp(ctx) {
    const { b } = ctx;
    const dZ = ctx.dY()!;
    const C = ctx.input(0);
    const zero = scalarLike(ctx, ctx.output(0), 0);
    return {
      condition: null,
      X: ctx.needsGrad(1) ? ctx.unbroadcast(b.op('Where', [C, dZ, zero], {}, { name: 'Where_dX' }), ctx.input(1)) : null,
      Y: ctx.needsGrad(2) ? ctx.unbroadcast(b.op('Where', [C, zero, dZ], {}, { name: 'Where_dY' }), ctx.input(2)) : null,
    };
  },
};
