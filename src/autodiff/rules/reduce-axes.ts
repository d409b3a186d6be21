/** Axes handling shared by the Reduce* rules (opset 18 form: axes as an optional input). */
import type { VjpContext, VjpRule } from '../vjp-rule.js';
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

/** What a Reduce* rule's dX is made of: the data X, the reduced axes (null: all), and dY and Y with the reduced axes kept. */
export interface Reduction {
  readonly X: string;
  readonly axes: number[] | null;
  readonly dY: string;
  /** The reduction's output, emitted on first use. */
  readonly Y: () => string;
}

/** A Reduce* rule (inputs data and axes) from its dX; the axes get no gradient. */
export function reductionRule(opType: string, sinceVersion: number, dX: (ctx: VjpContext, r: Reduction) => string): VjpRule {
  return {
    opType,
    sinceVersion,
    inputs: ['data', 'axes'],
    vjp(ctx) {
      const axes = reducedAxes(ctx);
      const r = { X: ctx.input(0), axes, dY: keepDims(ctx, ctx.dY()!, axes), Y: () => keepDims(ctx, ctx.output(0), axes) };
      return { data: dX(ctx, r), axes: null };
    },
  };
}
