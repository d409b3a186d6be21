/**
 * Training methods: what a training step is fed.
 *
 *   standard  the clean batch.
 *   pgd-at    Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks"
 *             (arXiv:1706.06083): PGD with a random start, `steps` steps of `stepSize`, CE ascent.
 *   fast-at   Wong et al. 2020, "Fast is better than free" (arXiv:2001.03994): one FGSM step of
 *             `stepSize` (default 1.25·ε) from a uniform random start in the ε-ball.
 *   trades    Zhang et al. 2019, "Theoretically Principled Trade-off between Robustness and
 *             Accuracy" (arXiv:1901.08573): x' starts at x + 0.001·N(0, I) and ascends
 *             KL(f(x) ‖ f(x')) for `steps` steps; the step minimises CE(f(x), y) + β·KL(f(x) ‖ f(x')).
 *   gaussian  Cohen et al. 2019, "Certified Adversarial Robustness via Randomized Smoothing"
 *             (arXiv:1902.02918): the batch plus N(0, σ²I) noise (not clipped to the input bounds,
 *             as the smoothed classifier that certify/ certifies sees it), so the base classifier
 *             learns to classify noisy inputs.
 *   ibp       Gowal et al. 2018, "On the effectiveness of interval bound propagation for training
 *             verifiably robust models" (arXiv:1810.12715): no examples are made; the step
 *             minimises κ·CE(z(x), y) + (1 − κ)·CE(ẑ(x, ε), y) with the worst-case logits ẑ of the
 *             L∞ ε-box from the bound graph (ibp-training-graph.ts); κ goes from 1 to `kappaFinal`
 *             (default 0.5, the paper's) while ε ramps up.
 *
 * Adversarial examples are made with the model in eval mode (running BatchNorm statistics, no
 * dropout), as TRADES' reference code does, and stay inside the ε-ball ∩ input bounds (the shared
 * Norm objects project exactly).
 */
import { GibbonError } from '../errors.js';
import { checkOption, numberIn, positiveFiniteNumber, positiveInteger } from '../options.js';
import type { Bounds } from '../model/bounds.js';
import { softmaxRows } from '../model/oracles.js';
import { normByName } from '../norms/index.js';
import type { NormName } from '../norms/norm.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Trainable } from './trainable.js';

export const METHODS = ['standard', 'pgd-at', 'fast-at', 'trades', 'gaussian', 'ibp'] as const;
export type MethodName = (typeof METHODS)[number];

export interface AdversaryOptions {
  /** The norm of the training adversary's ε-ball ('linf' or 'l2'). */
  norm: NormName;
  /** The adversary's budget ε (must be > 0 for pgd-at, fast-at, trades and ibp). */
  eps: number;
  /** Steps of the inner maximisation (PGD-AT, TRADES); default 40 for those methods (Madry et al. 2018; Zhang et al. 2019, MNIST). */
  steps: number;
  /** Absolute step size of the inner maximisation; default ε / 30 for PGD-AT and TRADES (0.01 at ε = 0.3, Madry et al. 2018), 1.25·ε for fast-at (Wong et al. 2020). */
  stepSize: number;
  /** The input domain the adversarial examples stay in (e.g. [0, 1]). */
  bounds: Bounds;
}

/** Steps and step size a method uses when the user gives none. */
export function defaultAdversary(method: MethodName, eps: number): { steps: number; stepSize: number } {
  switch (method) {
    case 'standard':
    case 'gaussian':
    case 'ibp':
      return { steps: 0, stepSize: 0 };
    case 'fast-at':
      return { steps: 1, stepSize: 1.25 * eps };
    case 'pgd-at':
      return { steps: 40, stepSize: eps / 30 }; // Madry et al. MNIST: 40 steps of 0.01 at ε 0.3
    case 'trades':
      return { steps: 40, stepSize: eps / 30 }; // Zhang et al. MNIST: 40 steps of 0.01 at ε 0.3
  }
}

export function checkAdversary(method: MethodName, o: AdversaryOptions): void {
  if (method === 'standard' || method === 'gaussian') return;
  if (method === 'ibp') {
    checkOption('eps', o.eps, positiveFiniteNumber, " for method 'ibp'");
    if (o.norm !== 'linf') throw new GibbonError('invalid_option', `method 'ibp' bounds L∞ boxes; got option norm ${o.norm} (use linf)`, { option: 'norm' });
    return;
  }
  checkOption('eps', o.eps, positiveFiniteNumber, ` for method '${method}'`);
  checkOption('steps', o.steps, positiveInteger);
  checkOption('stepSize', o.stepSize, positiveFiniteNumber);
}

/** PGD (CE ascent) from a random start in the ε-ball. */
export async function pgdExamples(model: Trainable, x: Tensor, y: Int32Array, o: AdversaryOptions, rng: Rng, randomStart = true): Promise<Tensor> {
  const norm = normByName(o.norm);
  let adv = randomStart ? norm.randomStart(x, o.eps, rng, o.bounds) : x;
  const n = x.shape[0]!;
  for (let k = 0; k < o.steps; k++) {
    const { grad } = await model.inputGradCe(adv.data, n, y);
    adv = norm.project(x, step(adv, norm.normalizeGradient({ data: grad, shape: x.shape }), o.stepSize), o.eps, o.bounds);
  }
  return adv;
}

/** TRADES' inner maximisation of KL(f(x) ‖ f(x')). */
export async function tradesExamples(model: Trainable, x: Tensor, o: AdversaryOptions, rng: Rng): Promise<Tensor> {
  const norm = normByName(o.norm);
  const n = x.shape[0]!;
  const probs = softmaxRows({ data: await model.logits(x.data, n), shape: [n, model.numClasses] }).data;
  const start = new Float32Array(x.data.length);
  for (let i = 0; i < start.length; i++) start[i] = x.data[i]! + 0.001 * rng.normal();
  let adv = norm.project(x, { data: start, shape: x.shape }, o.eps, o.bounds);
  for (let k = 0; k < o.steps; k++) {
    const grad = await model.inputGradKl(adv.data, n, probs);
    adv = norm.project(x, step(adv, norm.normalizeGradient({ data: grad, shape: x.shape }), o.stepSize), o.eps, o.bounds);
  }
  return adv;
}

/** The Gaussian-augmentation standard deviation when the user gives none (Cohen et al.'s smallest σ). */
export const DEFAULT_SIGMA = 0.25;

export function checkSigma(sigma: number): void {
  checkOption('sigma', sigma, positiveFiniteNumber, " for method 'gaussian'");
}

/** x + N(0, σ²I), drawn from `rng` (one draw per value, in order, so a seed fixes the batch). */
export function gaussianExamples(x: Tensor, sigma: number, rng: Rng): Tensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = x.data[i]! + sigma * rng.normal();
  return { data: out, shape: x.shape };
}

/** The IBP κ final value when the user gives none (Gowal et al. 2018). */
export const DEFAULT_KAPPA_FINAL = 0.5;

export function checkKappa(kappa: number): void {
  checkOption('kappaFinal', kappa, numberIn(0, 1), " for method 'ibp'");
}

/**
 * How far IBP's ramp is after `done` epochs (fractional: the ramp advances every step, as Gowal et
 * al. ramp ε and κ linearly per step): ε·progress and κ = 1 − (1 − κ_final)·progress. It reaches
 * the trainer's per-epoch ε-ramp value at the end of each epoch; without a ramp it is 1 throughout.
 */
export function ibpRampProgress(done: number, rampEpochs: number): number {
  return rampEpochs > 0 ? Math.min(1, done / rampEpochs) : 1;
}

function step(x: Tensor, direction: Tensor, size: number): Tensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = x.data[i]! + size * direction.data[i]!;
  return { data: out, shape: x.shape };
}
