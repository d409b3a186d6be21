/**
 * Randomized smoothing: Cohen, Rosenfeld & Kolter 2019, "Certified Adversarial Robustness via
 * Randomized Smoothing" (ICML 2019, arXiv:1902.02918).
 *
 * Threat model: L2, any perturbation δ with ‖δ‖₂ < R. The object certified is not the ONNX model
 * f (the "base classifier") but the smoothed classifier g(x) = argmax_c P(f(x + ε) = c) with
 * ε ~ N(0, σ²I). If the top class has probability pA ≥ p̲A > 1/2 under the noise, g predicts
 * that class everywhere within R = σ·Φ⁻¹(p̲A) of x (the paper's Theorem 1 with p̄B = 1 − p̲A).
 * g is only known through Monte Carlo sampling, so both algorithms below hold with probability
 * at least 1 − α over the noise, and may abstain.
 *
 *   PREDICT(f, σ, x, n, α): count f on n noisy copies; with the top two counts nA, nB, return
 *     the top class if the two-sided binomial test of nA out of nA + nB at p = 1/2 has p-value
 *     ≤ α, else abstain (the answer is then g(x) with probability ≥ 1 − α).
 *   CERTIFY(f, σ, x, n0, n, α): guess the top class ĉA from n0 "selection" copies, count ĉA on
 *     n fresh "estimation" copies, take the one-sided (1 − α) Clopper–Pearson lower bound p̲A;
 *     abstain if p̲A ≤ 1/2, else return (ĉA, σ·Φ⁻¹(p̲A)).
 *
 * Noise is not clipped to the input bounds: the guarantee is about g as defined above. Each
 * example's noise comes from its own seeded generator (see certify-run), so results do not
 * depend on the batch size or on the order examples are certified in.
 *
 * Options and defaults (the paper's ImageNet/CIFAR settings): n0 100, n 100 000 (the CLI
 * defaults to 10 000), α 0.001. Beta and normal quantiles come from @stdlib (see README).
 *
 * @example
 * const counts = await sampleCounts(model, x, 10_000, 0.25, 1000, rng);
 * certifyFromCounts(guess, counts[guess]!, 10_000, 0.001, 0.25); // { prediction, pA, radius }
 */
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { GibbonError } from '../errors.js';
import { checkOption, positiveFiniteNumber, positiveInteger } from '../options.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';

/** What smoothing needs from a model: its hard decisions on a batch (an OnnxModel fits). */
export interface BaseClassifier {
  readonly numClasses: number;
  predict(x: Tensor): Promise<Int32Array>;
}

export interface SmoothingOptions {
  /** Standard deviation σ of the Gaussian noise (> 0); the certified radius is σ·Φ⁻¹(p̲A). Required (Cohen et al. 2019 use 0.12–1.0; the CLI's default is 0.25). */
  readonly sigma: number;
  /** Selection samples n0 (CERTIFY's guess of the top class). Required (Cohen et al. 2019: 100). */
  readonly n0: number;
  /** Estimation samples n (CERTIFY's bound; PREDICT's test). Required (Cohen et al. 2019: 100 000; the CLI's default is 10 000). */
  readonly n: number;
  /** Failure probability α in (0, 1): the answer is wrong with probability at most α. Required (Cohen et al. 2019: 0.001). */
  readonly alpha: number;
  /** Noisy copies per forward run (default 1000). */
  readonly batchSize?: number;
}

export interface Certificate {
  prediction: number | 'abstain';
  /** Lower confidence bound on the top class's probability (0 when nothing was counted). */
  pA: number;
  /** Certified L2 radius σ·Φ⁻¹(p̲A); 0 on abstention. */
  radius: number;
  /** The class guessed from the selection samples and its count among the estimation samples. */
  guess: number;
  countA: number;
}

export function checkSmoothingOptions(o: SmoothingOptions): void {
  checkOption('sigma', o.sigma, positiveFiniteNumber);
  checkOption('n0', o.n0, positiveInteger);
  checkOption('n', o.n, positiveInteger);
  checkOption('alpha', o.alpha, { expected: 'in (0, 1)', valid: (v) => (v as number) > 0 && (v as number) < 1 });
  checkOption('batchSize', o.batchSize ?? 1000, positiveInteger);
}

/**
 * One-sided (1 − α) Clopper–Pearson lower bound on a binomial proportion from k successes in n:
 * the α quantile of Beta(k, n − k + 1), and 0 when k = 0.
 */
export function clopperPearsonLower(k: number, n: number, alpha: number): number {
  if (!(Number.isInteger(k) && Number.isInteger(n) && k >= 0 && k <= n && n >= 1)) {
    throw new GibbonError('invalid_option', `Clopper–Pearson needs integers 0 ≤ k ≤ n, n ≥ 1; got k ${k}, n ${n}`);
  }
  return k === 0 ? 0 : betaQuantile(alpha, k, n - k + 1);
}

/** Inverse of the standard normal CDF. */
export function normalInverseCdf(p: number): number {
  return normalQuantile(p, 0, 1);
}

/** Two-sided binomial test p-value of k successes in n trials at p = 1/2 (the distribution is symmetric). */
export function binomialTestHalf(k: number, n: number): number {
  if (n === 0) return 1;
  const far = Math.max(k, n - k);
  if (2 * far === n) return 1;
  // P(X ≥ far) + P(X ≤ n − far) = 2·P(X ≤ n − far): the lower tail keeps tiny p-values exact.
  return Math.min(1, 2 * binomialCdf(n - far, n, 0.5));
}

/** Index of the largest count (the lowest index on ties). */
export function topClass(counts: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < counts.length; c++) if (counts[c]! > counts[best]!) best = c;
  return best;
}

/** CERTIFY's decision given the selection guess and its count among n estimation samples. */
export function certifyFromCounts(guess: number, countA: number, n: number, alpha: number, sigma: number): Certificate {
  const pA = clopperPearsonLower(countA, n, alpha);
  if (pA <= 0.5) return { prediction: 'abstain', pA, radius: 0, guess, countA };
  return { prediction: guess, pA, radius: sigma * normalInverseCdf(pA), guess, countA };
}

/** PREDICT's decision from n noisy predictions' counts. */
export function predictFromCounts(counts: ArrayLike<number>, alpha: number): { prediction: number | 'abstain'; pValue: number } {
  const a = topClass(counts);
  let b = a === 0 ? 1 : 0;
  for (let c = 0; c < counts.length; c++) if (c !== a && counts[c]! > counts[b]!) b = c;
  const nA = counts[a]!;
  const nB = counts.length > 1 ? counts[b]! : 0;
  const pValue = binomialTestHalf(nA, nA + nB);
  return { prediction: pValue <= alpha ? a : 'abstain', pValue };
}

/** The largest radius n samples can certify at level α (all n agree): σ·Φ⁻¹(α^(1/n)). */
export function maximumRadius(n: number, alpha: number, sigma: number): number {
  return sigma * normalInverseCdf(clopperPearsonLower(n, n, alpha));
}

/** Fills `out` with `count` copies of one example (`x`, a single example's values) plus N(0, σ²I) noise. */
export function noisyCopies(x: Float32Array, count: number, sigma: number, rng: Rng, out = new Float32Array(count * x.length)): Float32Array {
  const per = x.length;
  for (let k = 0; k < count; k++) {
    const o = k * per;
    for (let i = 0; i < per; i++) out[o + i] = x[i]! + sigma * rng.normal();
  }
  return out;
}

/**
 * How often the base classifier predicts each class on `num` noisy copies of one example
 * (`x` holds its values; `shape` the per-example shape), in batches of `batchSize`. (Drawing the
 * next batch while onnxruntime runs would not overlap: onnxruntime-node runs on the main thread.)
 */
export async function sampleCounts(
  model: BaseClassifier,
  x: Float32Array,
  shape: readonly number[],
  num: number,
  sigma: number,
  batchSize: number,
  rng: Rng,
  signal?: AbortSignal,
): Promise<Int32Array> {
  const counts = new Int32Array(model.numClasses);
  const buffer = new Float32Array(Math.min(num, batchSize) * x.length);
  for (let done = 0; done < num; done += batchSize) {
    signal?.throwIfAborted();
    const count = Math.min(batchSize, num - done);
    const data = noisyCopies(x, count, sigma, rng, buffer.subarray(0, count * x.length));
    const predicted = await model.predict({ data, shape: [count, ...shape] });
    for (let i = 0; i < count; i++) counts[predicted[i]!]!++;
  }
  return counts;
}

/** Cohen et al.'s CERTIFY on one example; `selection` and `estimation` are independent generators. */
export async function certifyExample(
  model: BaseClassifier,
  x: Float32Array,
  shape: readonly number[],
  o: SmoothingOptions,
  rngs: { selection: Rng; estimation: Rng },
  signal?: AbortSignal,
): Promise<Certificate> {
  const batch = o.batchSize ?? 1000;
  const selection = await sampleCounts(model, x, shape, o.n0, o.sigma, batch, rngs.selection, signal);
  const guess = topClass(selection);
  const estimation = await sampleCounts(model, x, shape, o.n, o.sigma, batch, rngs.estimation, signal);
  return certifyFromCounts(guess, estimation[guess]!, o.n, o.alpha, o.sigma);
}

/** Cohen et al.'s PREDICT on one example (uses `o.n` samples). */
export async function predictExample(
  model: BaseClassifier,
  x: Float32Array,
  shape: readonly number[],
  o: SmoothingOptions,
  rng: Rng,
  signal?: AbortSignal,
): Promise<{ prediction: number | 'abstain'; pValue: number }> {
  const counts = await sampleCounts(model, x, shape, o.n, o.sigma, o.batchSize ?? 1000, rng, signal);
  return predictFromCounts(counts, o.alpha);
}
