/** Sub: dA = unbroadcast(dY), dB = −unbroadcast(dY), i.e. Add's gradient with dB negated. */
import type { VjpRule } from '../vjp-rule.js';
import { addVjp } from './Add.js';

export const subVjp: VjpRule = {
  opType: 'Sub',
  sinceVersion: 14,
  inputs: ['A', 'B'],
  vjp(ctx) {
    const { A, B } = addVjp.vjp(ctx);
    return { A, B: B ? ctx.b.op('Neg', [B], {}, { name: 'Sub_dB' }) : null };
  },
};
