/** HardSwish: Y = X·clip(X/6 + 1/2, 0, 1); dX = dY·(X < −3 ? 0 : X ≤ 3 ? X/3 + 1/2 : 1) (PyTorch's boundaries). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const hardSwishVjp: VjpRule = {
  opType: 'HardSwish',
  sinceVersion: 14,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const dY = ctx.dY()!;
    const c = (v: number): string => scalarLike(ctx, X, v);
    const below = b.op('Less', [X, c(-3)], {}, { name: 'HardSwish_below' });
    const inside = b.op('LessOrEqual', [X, c(3)], {}, { name: 'HardSwish_inside' });
    const ramp = b.op('Mul', [dY, b.op('Add', [b.op('Mul', [X, c(1 / 3)]), c(0.5)])], {}, { name: 'HardSwish_ramp' });
    const upper = b.op('Where', [inside, ramp, dY], {}, { name: 'HardSwish_upper' });
    return { X: b.op('Where', [below, c(0), upper], {}, { name: 'HardSwish_dX' }) };
  },
};
