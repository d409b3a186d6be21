/** Dropout: inference dX = dY; training (constant training_mode = true) dX = dY·mask / (1 − ratio). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const dropoutVjp: VjpRule = {
  opType: 'Dropout',
  sinceVersion: 13,
  inputs: ['data', 'ratio', 'training_mode'],
  vjp(ctx) {
    const { b } = ctx;
    const dY = ctx.dY()!;
    const X = ctx.input(0);
    const modeInput = ctx.input(2);
    const mode = modeInput === '' ? [0] : ctx.constant(modeInput);
    if (mode === undefined) return ctx.unsupported(`training_mode '${modeInput}' is not a constant`);
    if (mode[0] === 0) return { data: dY, ratio: null, training_mode: null };
    const mask = ctx.output(1);
    // The mask drawn in this run is only available as the node's second output.
    if (mask === '') return ctx.unsupported('training_mode=true without the mask output');
    const ratioInput = ctx.input(1);
    let ratio = ratioInput === '' ? scalarLike(ctx, X, 0.5) : ratioInput;
    if (ratioInput !== '' && ctx.dataType(ratioInput) !== ctx.dataType(X)) ratio = b.op('Cast', [ratio], { to: ctx.dataType(X) });
    const keep = b.op('Sub', [scalarLike(ctx, X, 1), ratio], {}, { name: 'Dropout_keep' });
    const scaled = b.op('Div', [dY, keep], {}, { name: 'Dropout_scaled' });
    return { data: b.op('Where', [mask, scaled, scalarLike(ctx, X, 0)], {}, { name: 'Dropout_dX' }), ratio: null, training_mode: null };
  },
};
