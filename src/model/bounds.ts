/**
 * The input domain of a model: every feature lies in [lower, upper] (images: [0, 1]). It is part of
 * the model/oracle contract; norms project onto the ε-ball intersected with it, and the harness
 * clips every adversarial example into it.
 */
import { GibbonError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

export interface Bounds {
  readonly lower: number;
  readonly upper: number;
}

/** Images scaled to [0, 1]. */
export const UNIT_BOUNDS: Bounds = Object.freeze({ lower: 0, upper: 1 });

/** Validates and freezes bounds; names the option in errors. */
export function checkBounds(bounds: Bounds, option = 'bounds'): Bounds {
  const { lower, upper } = bounds;
  if (!Number.isFinite(lower) || !Number.isFinite(upper) || !(lower < upper)) {
    throw new GibbonError('invalid_option', `input bounds must be finite with lower < upper; got [${lower}, ${upper}]`, { option });
  }
  return Object.freeze({ lower, upper });
}

/** Throws when x has values outside the bounds (or NaN), naming the first offending position. */
export function checkWithinBounds(x: Tensor, bounds: Bounds, what = 'input'): void {
  const { lower, upper } = bounds;
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i]!;
    if (!(v >= lower && v <= upper)) {
      let min = Infinity;
      let max = -Infinity;
      for (const u of x.data) {
        if (u < min) min = u;
        if (u > max) max = u;
      }
      throw new GibbonError(
        'invalid_input',
        `${what} has value ${v} at flat index ${i}, outside the input domain [${lower}, ${upper}] (its range is [${min}, ${max}]); scale the data or set the bounds`,
        { option: what },
      );
    }
  }
}

/** A copy of x with every value clamped into the bounds. */
export function clampToBounds(x: Tensor, bounds: Bounds): Tensor {
  const out = new Float32Array(x.data.length);
  for (let j = 0; j < out.length; j++) out[j] = Math.min(Math.max(x.data[j]!, bounds.lower), bounds.upper);
  return { data: out, shape: [...x.shape] };
}
