/** Gelu: exact dX = dY·(Φ(X) + X·φ(X)); tanh form, with u = √(2/π)(X + 0.044715X³), t = tanh u: dX = dY·(½(1 + t) + ½X(1 − t²)·u′). */
import type { VjpRule } from '../vjp-rule.js';
import { scalarLike } from './common.js';

const CUBIC = 0.044715;

export const geluVjp: VjpRule = {
  opType: 'Gelu',
  sinceVersion: 20,
  inputs: ['X'],
  vjp(ctx) {
    const { b } = ctx;
    const X = ctx.input(0);
    const c = (v: number): string => scalarLike(ctx, X, v);
    const approximate = ctx.attrs.string('approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') return ctx.unsupported(`approximate='${approximate}' (expected 'none' or 'tanh')`);
    const square = b.op('Mul', [X, X], {}, { name: 'Gelu_x2' });
    let slope: string;
    if (approximate === 'none') {
      const cdf = b.op('Add', [b.op('Mul', [b.op('Erf', [b.op('Mul', [X, c(Math.SQRT1_2)])]), c(0.5)]), c(0.5)], {}, { name: 'Gelu_cdf' });
      const pdf = b.op('Exp', [b.op('Mul', [square, c(-0.5)])], {}, { name: 'Gelu_pdf' });
      const xPdf = b.op('Mul', [b.op('Mul', [X, c(1 / Math.sqrt(2 * Math.PI))]), pdf], {}, { name: 'Gelu_xpdf' });
      slope = b.op('Add', [cdf, xPdf], {}, { name: 'Gelu_slope' });
    } else {
      const k = Math.sqrt(2 / Math.PI);
      const u = b.op('Mul', [X, b.op('Add', [b.op('Mul', [square, c(k * CUBIC)]), c(k)])], {}, { name: 'Gelu_u' });
      const t = b.op('Tanh', [u], {}, { name: 'Gelu_t' });
      const du = b.op('Add', [b.op('Mul', [square, c(3 * k * CUBIC)]), c(k)], {}, { name: 'Gelu_du' });
      const halfX = b.op('Mul', [X, c(0.5)]);
      const sech2 = b.op('Sub', [c(1), b.op('Mul', [t, t])], {}, { name: 'Gelu_sech2' });
      const second = b.op('Mul', [b.op('Mul', [halfX, sech2]), du], {}, { name: 'Gelu_second' });
      const first = b.op('Add', [b.op('Mul', [t, c(0.5)]), c(0.5)], {}, { name: 'Gelu_first' });
      slope = b.op('Add', [first, second], {}, { name: 'Gelu_slope' });
    }
    return { X: b.op('Mul', [ctx.dY()!, slope], {}, { name: 'Gelu_dX' }) };
  },
};
