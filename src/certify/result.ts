/**
 * What a certification method produces, whatever the method: a per-example record of what it
 * could prove, and the certified-accuracy curve summarising those records.
 *
 * Shared by randomized smoothing (L2, Cohen et al. 2019) and interval bound propagation (L∞), so
 * one report renderer and one JSON shape serve both. A "certified" example is one whose prediction
 * is correct and provably constant within the stated radius (under the method's own guarantee:
 * deterministic for IBP, with probability ≥ 1 − α for randomized smoothing).
 */

/** Certification methods gibbon knows about. */
export type CertificationMethod = 'randomized-smoothing' | 'ibp';

/** The norm a certified radius is measured in. */
export type CertificationNorm = 'l2' | 'linf';

/** What the method could prove about one example. */
export interface CertifiedExample {
  /** Index of the example in the evaluated dataset split (not its position in this run). */
  index: number;
  /** True label. */
  label: number;
  /** Predicted class, or `'abstain'` when the method declines to predict (smoothing's ABSTAIN). */
  prediction: number | 'abstain';
  /**
   * Radius within which the prediction is certified constant; 0 when nothing is certified
   * (abstention, or a bound that proves nothing). For IBP, the largest tested ε that verified.
   */
  radius: number;
  /** `prediction === label`; an abstention is never correct. */
  correct: boolean;
  /** Method-specific numbers for this example (e.g. smoothing's counts and pA lower bound). */
  details?: Record<string, number>;
}

/** Certified accuracy against radius for one model, method and set of examples. */
export interface CertifiedAccuracyCurve {
  method: CertificationMethod;
  norm: CertificationNorm;
  /** Number of examples certified. */
  n: number;
  /**
   * Fraction of the n examples the certified classifier gets right without perturbation (for
   * smoothing: the smoothed classifier's prediction, abstentions counted wrong).
   */
  clean_accuracy: number;
  /** radius → fraction of the n examples certified correct at ≥ that radius; radii ascending. */
  points: { radius: number; certified_accuracy: number }[];
  /** Number of examples on which the method abstained (methods that can abstain only). */
  abstained?: number;
  /** Wall-clock seconds the certification took (summed across resumed runs). */
  seconds: number;
  /** Method parameters, recorded as given (e.g. `{ sigma: 0.25, n0: 100, n: 10000, alpha: 0.001, seed: 0 }`). */
  parameters: Record<string, number | string>;
}

/** Fraction of `examples` that are correct with a certified radius of at least `radius`. */
export function certifiedAccuracyAt(examples: readonly CertifiedExample[], radius: number): number {
  if (examples.length === 0) return 0;
  let count = 0;
  for (const e of examples) if (e.correct && e.radius >= radius) count++;
  return count / examples.length;
}

/**
 * Builds the curve from per-example records: one point per requested radius plus one at every
 * distinct certified radius (so the step function is exact), ascending.
 */
export function certifiedAccuracyCurve(
  examples: readonly CertifiedExample[],
  meta: Omit<CertifiedAccuracyCurve, 'n' | 'clean_accuracy' | 'points' | 'abstained'> & { radii?: readonly number[] },
): CertifiedAccuracyCurve {
  const { radii = [], ...rest } = meta;
  const set = new Set<number>([0, ...radii]);
  for (const e of examples) if (e.correct && e.radius > 0 && Number.isFinite(e.radius)) set.add(e.radius);
  const sorted = [...set].sort((a, b) => a - b);
  const abstained = examples.filter((e) => e.prediction === 'abstain').length;
  const clean = examples.length === 0 ? 0 : examples.filter((e) => e.correct).length / examples.length;
  return {
    method: rest.method,
    norm: rest.norm,
    n: examples.length,
    clean_accuracy: clean,
    points: sorted.map((radius) => ({ radius, certified_accuracy: certifiedAccuracyAt(examples, radius) })),
    ...(abstained > 0 || rest.method === 'randomized-smoothing' ? { abstained } : {}),
    seconds: rest.seconds,
    parameters: rest.parameters,
  };
}
