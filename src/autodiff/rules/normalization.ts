/**
 * The backward pass shared by LayerNormalization and InstanceNormalization. Both standardise X
 * over some axes, x̂ = (X − μ)·ρ with ρ = 1/√(σ² + ε), then scale and shift; for g = ∂L/∂x̂,
 *   ∂L/∂X = ρ · (g − mean(g) − x̂ · mean(g · x̂))   (means over the normalised axes).
 * μ and ρ are recomputed here in X's type rather than read from the node's optional outputs,
 * which onnxruntime stores in float32 whatever X's type.
 */
import type { VjpContext } from '../vjp-rule.js';
import { scalarLike } from './common.js';

export interface Standardized {
  /** x̂, shaped like X. */
  readonly xhat: string;
  /** ρ = 1/√(σ² + ε), shaped like X with the normalised axes kept as 1. */
  readonly invStd: string;
}

export function standardize(ctx: VjpContext, X: string, axes: readonly number[], epsilon: number): Standardized {
  const { b } = ctx;
  const ax = b.int64s(axes);
  const mean = b.op('ReduceMean', [X, ax], { keepdims: 1 }, { name: 'norm_mean' });
  const centered = b.op('Sub', [X, mean], {}, { name: 'norm_centered' });
  const variance = b.op('ReduceMean', [b.op('Mul', [centered, centered]), ax], { keepdims: 1 }, { name: 'norm_var' });
  const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, scalarLike(ctx, X, epsilon)])])], {}, { name: 'norm_invstd' });
  return { xhat: b.op('Mul', [centered, invStd], {}, { name: 'norm_xhat' }), invStd };
}

/** ∂L/∂X from g = ∂L/∂x̂ (shaped like X). */
export function standardizeBackward(ctx: VjpContext, s: Standardized, g: string, axes: readonly number[]): string {
  const { b } = ctx;
  const ax = b.int64s(axes);
  const meanG = b.op('ReduceMean', [g, ax], { keepdims: 1 }, { name: 'norm_mean_g' });
  const meanGX = b.op('ReduceMean', [b.op('Mul', [g, s.xhat]), ax], { keepdims: 1 }, { name: 'norm_mean_gx' });
  const inner = b.op('Sub', [b.op('Sub', [g, meanG]), b.op('Mul', [s.xhat, meanGX])], {}, { name: 'norm_inner' });
  return b.op('Mul', [inner, s.invStd], {}, { name: 'norm_dX' });
}

/** A per-channel vector (C) reshaped to (C, 1, …, 1) so it broadcasts against (N, C, D₁ …) of rank `rank`. */
export function perChannel(ctx: VjpContext, v: string, rank: number): string {
  if (rank <= 2) return v;
  return ctx.b.op('Unsqueeze', [v, ctx.b.int64s(Array.from({ length: rank - 2 }, (_, i) => i + 1))], {}, { name: 'per_channel' });
}

/** Axes 0 and 2… of a rank-`rank` tensor: all but the channel axis. */
export function allButChannel(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
}
