/**
 * Certifies a set of examples with randomized smoothing (smoothing.ts) and summarises them as a
 * CertifiedAccuracyCurve. Each example's selection and estimation noise comes from generators
 * derived from (seed, example index), so any subset, order, batch size or resumed run gives the
 * same records. Records already known (from a checkpoint) are passed in and skipped; `onExample`
 * sees every new record with all records so far, so the caller can checkpoint and draw progress.
 */
import { Rng } from '../random.js';
import { certifiedAccuracyCurve, type CertifiedAccuracyCurve, type CertifiedExample } from './result.js';
import { certifyExample, checkSmoothingOptions, maximumRadius, type BaseClassifier, type SmoothingOptions } from './smoothing.js';

/** Radii of the summary table and the fixed points of every smoothing curve. */
export const REPORT_RADII: readonly number[] = Object.freeze([0, 0.25, 0.5, 0.75, 1]);

export interface SmoothingData {
  /** Examples, row-major (n × per-example size). */
  readonly x: Float32Array;
  readonly y: ArrayLike<number>;
  /** Per-example shape (C, H, W …). */
  readonly shape: readonly number[];
  /** Dataset index of each row (default 0…n−1), kept in the records. */
  readonly indices?: ArrayLike<number>;
}

export interface SmoothingRunOptions extends SmoothingOptions {
  /** Seed of the Gaussian noise; each example's draws derive from (seed, index), so a resumed run draws the same. Required. */
  readonly seed: number;
  /** Records of examples certified earlier (a resumed run); their indices are skipped. */
  readonly done?: readonly CertifiedExample[];
  /** Seconds spent by earlier runs. */
  readonly secondsBefore?: number;
  /** Aborts the run between examples. Default none. */
  readonly signal?: AbortSignal;
  /** Called after every example with its record, all records so far and the seconds spent (for checkpoints and progress). Default none. */
  readonly onExample?: (record: CertifiedExample, records: readonly CertifiedExample[], seconds: number) => void;
}

export interface SmoothingRun {
  readonly records: CertifiedExample[];
  readonly curve: CertifiedAccuracyCurve;
  /** Largest radius the sample size allows, σ·Φ⁻¹(α^(1/n)): no example can certify beyond it. */
  readonly maximumRadius: number;
}

/** The generators of one example: independent streams for selection and estimation. */
export function exampleRngs(seed: number, index: number): { selection: Rng; estimation: Rng } {
  return { selection: Rng.derive(seed, 'smoothing', index, 'selection'), estimation: Rng.derive(seed, 'smoothing', index, 'estimation') };
}

export async function certifySmoothing(model: BaseClassifier, data: SmoothingData, o: SmoothingRunOptions): Promise<SmoothingRun> {
  checkSmoothingOptions(o);
  const per = data.shape.reduce((a, c) => a * c, 1);
  const count = data.x.length / per;
  const indexOf = (i: number): number => (data.indices ? data.indices[i]! : i);
  const records: CertifiedExample[] = [];
  const known = new Map((o.done ?? []).map((r) => [r.index, r]));
  const started = performance.now();
  const elapsed = (): number => (o.secondsBefore ?? 0) + (performance.now() - started) / 1000;
  for (let i = 0; i < count; i++) {
    const index = indexOf(i);
    const earlier = known.get(index);
    if (earlier) {
      records.push(earlier);
      continue;
    }
    const label = Number(data.y[i]);
    const c = await certifyExample(model, data.x.subarray(i * per, (i + 1) * per), data.shape, o, exampleRngs(o.seed, index), o.signal);
    const record: CertifiedExample = {
      index,
      label,
      prediction: c.prediction,
      radius: c.radius,
      correct: c.prediction === label,
      details: { guess: c.guess, count: c.countA, p_lower: c.pA },
    };
    records.push(record);
    o.onExample?.(record, records, elapsed());
  }
  const curve = certifiedAccuracyCurve(records, {
    method: 'randomized-smoothing',
    norm: 'l2',
    radii: REPORT_RADII,
    seconds: Math.round(elapsed() * 1000) / 1000,
    parameters: { sigma: o.sigma, n0: o.n0, samples: o.n, alpha: o.alpha, seed: o.seed },
  });
  return { records, curve, maximumRadius: maximumRadius(o.n, o.alpha, o.sigma) };
}
