/**
 * Percentile-bootstrap confidence intervals (Efron & Tibshirani 1993) for a success rate: resample
 * the n outcomes with replacement `resamples` times (seeded), take the rate of each resample, and
 * read the interval at the (1 − level)/2 and (1 + level)/2 quantiles. As garak reports them, and
 * with no normality assumption; for 0 or n successes the interval is the single point.
 */
import { Rng } from '../random.js';

export interface RateInterval {
  readonly rate: number;
  readonly low: number;
  readonly high: number;
  readonly n: number;
  readonly successes: number;
}

/** Default resamples (enough for a stable 95% interval's ends to ~0.5 points at n = 30). */
export const DEFAULT_RESAMPLES = 2000;

export function bootstrapRate(outcomes: readonly boolean[], seed: number, options: { resamples?: number; level?: number } = {}): RateInterval {
  const n = outcomes.length;
  const successes = outcomes.filter(Boolean).length;
  if (n === 0) return { rate: 0, low: 0, high: 0, n, successes };
  const rate = successes / n;
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const level = options.level ?? 0.95;
  const rng = new Rng(seed);
  const rates = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let k = 0;
    for (let i = 0; i < n; i++) if (outcomes[rng.integer(n)]) k++;
    rates[b] = k / n;
  }
  rates.sort();
  const at = (q: number): number => rates[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))]!;
  return { rate, low: at((1 - level) / 2), high: at((1 + level) / 2), n, successes };
}
