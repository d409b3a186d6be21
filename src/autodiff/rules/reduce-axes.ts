/** Axes handling shared by the Reduce* rules (opset 18 form: axes as an optional input). */
import type { VjpContext } from '../vjp-rule.js';
import { normalizeAxis } from './common.js';

/** The reduced axes (normalised), or null when all axes are reduced. */
export function reducedAxes(ctx: VjpContext): number[] | null {
  const rank = ctx.rank(ctx.input(0));
  const axesInput = ctx.input(1);
  if (!axesInput) {
    return ctx.attrs.int('noop_with_empty_axes', 0) ? [] : null;
  }
  const axes = ctx.constant(axesInput);
  if (!axes) ctx.unsupported('axes computed from the data at run time');
  if (axes.length === 0) return ctx.attrs.int('noop_with_empty_axes', 0) ? [] : null;
  return axes.map((a) => normalizeAxis(a, rank)).sort((a, b) => a - b);
}

/** dY with the reduced axes re-inserted (size 1), so it broadcasts against the input. */
export function keepDims(ctx: VjpContext, dY: string, axes: number[] | null): string {
  const rank = ctx.rank(ctx.input(0));
  if (ctx.attrs.int('keepdims', 1)) return dY;
  const all = axes ?? Array.from({ length: rank }, (_, i) => i);
  if (all.length === 0) return dY;
  return ctx.b.op('Unsqueeze', [dY, ctx.b.int64s(all)], {}, { name: 'reduce_keepdims' });
}
