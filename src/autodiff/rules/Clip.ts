/** Clip: Y = min(max(X, lo), hi); dX = dY where lo ≤ X ≤ hi (bounds included, as PyTorch's clamp); dlo, dhi = dY where X is clipped to them. */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export const clipVjp: VjpRule = {
  opType: 'Clip',
  sinceVersion: 13,
  inputs: ['input', 'min', 'max'],
  vjp(ctx) {
    const { b } = ctx;
    const dY = ctx.dY()!;
    const X = ctx.input(0);
    const lo = ctx.input(1);
    const hi = ctx.input(2);
    const zero = scalarLike(ctx, X, 0);
    let dX: string | null = null;
    if (ctx.needsGrad(0)) {
      // Clip returns X itself where it passes it, so Y == X is exactly lo ≤ X ≤ hi (with lo ≤ hi),
      // in two nodes and whichever bounds are present.
      // The mask as a float times dY: onnxruntime's Where is about twice as slow as Cast + Mul (ReLU6 in MobileNetV2).
      const passed = b.op('Cast', [b.op('Equal', [X, ctx.output(0)])], { to: ctx.dataType(X) }, { name: 'Clip_mask' });
      dX = b.op('Mul', [dY, passed], {}, { name: 'Clip_dX' });
    }
    // With lo > hi, Y = hi everywhere: only hi gets a gradient.
    let dLo: string | null = null;
    if (ctx.needsGrad(1)) {
      let below = b.op('Less', [X, lo], {}, { name: 'Clip_below' });
      if (hi !== '') below = b.op('And', [below, b.op('LessOrEqual', [lo, hi])], {}, { name: 'Clip_below' });
      dLo = ctx.unbroadcast(b.op('Where', [below, dY, zero], {}, { name: 'Clip_dmin' }), lo);
    }
    let dHi: string | null = null;
    if (ctx.needsGrad(2)) {
      let above = b.op('Greater', [X, hi], {}, { name: 'Clip_above' });
      if (lo !== '') above = b.op('Or', [above, b.op('Greater', [lo, hi])], {}, { name: 'Clip_above' });
      dHi = ctx.unbroadcast(b.op('Where', [above, dY, zero], {}, { name: 'Clip_dmax' }), hi);
    }
    return { input: dX, min: dLo, max: dHi };
  },
};
