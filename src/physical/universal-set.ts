/**
 * The `universal` perturbation set: one perturbation δ (shaped like one example) added to every
 * input, with ‖δ‖ ≤ ε in L∞ or L2 (Moosavi-Dezfooli et al. 2017). Each perturbed input is clipped
 * into the input domain. The projection of δ is the norm's own (norms/), applied to δ as a batch
 * of one around zero, with bounds that only the ball can bind.
 */
import { GibbonError } from '../errors.js';
import type { Bounds } from '../model/bounds.js';
import type { Norm } from '../norms/norm.js';
import type { Tensor } from '../tensor/tensor.js';

export interface UniversalSet {
  readonly norm: Norm;
  readonly eps: number;
  /** One example's shape. */
  readonly shape: readonly number[];
  readonly bounds: Bounds;
}

export function createUniversalSet(norm: Norm, eps: number, shape: readonly number[], bounds: Bounds): UniversalSet {
  if (!(eps > 0 && Number.isFinite(eps))) throw new GibbonError('invalid_option', `ε must be a finite number > 0; got ${eps}`, { option: 'eps' });
  return Object.freeze({ norm, eps, shape: Object.freeze([...shape]), bounds });
}

/** δ projected onto the ε-ball (a new array). */
export function projectUniversal(set: UniversalSet, delta: Float32Array, eps = set.eps): Float32Array {
  const span = set.bounds.upper - set.bounds.lower;
  const d: Tensor = { data: delta, shape: [1, ...set.shape] };
  return set.norm.project({ data: new Float32Array(delta.length), shape: d.shape }, d, eps, { lower: -span, upper: span }).data;
}

/** The unit steepest-ascent direction of a gradient for δ (sign for L∞, g/‖g‖₂ for L2). */
export function ascentDirection(set: UniversalSet, grad: Float32Array): Float32Array {
  return set.norm.normalizeGradient({ data: grad, shape: [1, ...set.shape] }).data;
}

/** x + δ for every row of x, clipped into the domain. */
export function applyUniversal(set: UniversalSet, x: Tensor, delta: Float32Array): Tensor {
  const out = new Float32Array(x.data.length);
  const { lower, upper } = set.bounds;
  for (let i = 0; i < out.length; i++) out[i] = Math.min(upper, Math.max(lower, x.data[i]! + delta[i % delta.length]!));
  return { data: out, shape: [...x.shape] };
}

/** ‖δ‖ in the set's norm. */
export function universalMagnitude(set: UniversalSet, delta: Float32Array): number {
  return set.norm.magnitude({ data: delta, shape: [1, delta.length] })[0]!;
}
