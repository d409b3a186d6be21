/**
 * A perturbation set as an object: the distance it measures, how to project onto its ε-ball
 * (intersected with the input bounds), the steepest-ascent direction of unit size, and a random
 * starting point. Attacks are written once against this interface and work for every norm; no
 * attack re-implements clipping.
 *
 * All functions work per example (row) of a batch and return new tensors.
 */
import type { Bounds } from '../model/bounds.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';

export type NormName = 'linf' | 'l2';

export interface Norm {
  readonly name: NormName;
  /** ‖a − b‖ per example. */
  distance(a: Tensor, b: Tensor): Float64Array;
  /** ‖d‖ per example. */
  magnitude(d: Tensor): Float64Array;
  /**
   * The dual norm per example (L1 for L∞, L2 for L2): the largest ⟨u, g⟩ over ‖u‖ ≤ 1, reached at
   * u = normalizeGradient(g). DeepFool's linearised distance to a boundary is |f| / dualNorm(∇f).
   */
  dualNorm(g: Tensor): Float64Array;
  /** Steepest-ascent direction of unit norm: sign(g) for L∞, g / ‖g‖₂ for L2 (zero rows stay zero). */
  normalizeGradient(g: Tensor): Tensor;
  /** Projection of x onto { x' : ‖x' − x0‖ ≤ ε } ∩ bounds. Exact in float32: the result is never outside. */
  project(x0: Tensor, x: Tensor, eps: number, bounds: Bounds): Tensor;
  /** A random point of the ε-ball around x0, inside the bounds. */
  randomStart(x0: Tensor, eps: number, rng: Rng, bounds: Bounds): Tensor;
  /** What the harness applies to whatever an attack returns: the same guarantee as project. */
  clipPerturbation(x0: Tensor, x: Tensor, eps: number, bounds: Bounds): Tensor;
}
