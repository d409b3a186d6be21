/**
 * Adversarial patch — one patch, trained over many images and physical conditions, that makes the
 * classifier output a target class (or anything but the true class) wherever it is stuck.
 *
 * Paper: Brown, Mané, Roy, Abadi & Gilmer, "Adversarial Patch", 2017, https://arxiv.org/abs/1712.09665
 * (EOT: Athalye, Engstrom, Ilyas & Kwok, ICML 2018, https://arxiv.org/abs/1707.07397; printability:
 * Sharif et al., CCS 2016).
 *
 * Threat model: white-box (GradientOracle); the `patch` perturbation set (physical/patch-set.ts):
 * the patch replaces the pixels it covers; targeted or untargeted; universal over inputs.
 *
 * Each step draws a batch of training images and, per image, one scene from the transform
 * distribution (placement, rotation, scale, brightness/contrast, blur, noise, optional print-and-
 * scan; physical/transforms.ts), composes them, asks the oracle for the input gradient of the loss
 * (CE towards the target, or CE of the true class), projects it back onto the patch through each
 * scene's VJPs (the warp's adjoint; physical/patch-scene.ts), subtracts the TV and NPS penalty
 * gradients, and takes an Adam ascent step; the patch is then clipped into the input domain.
 * The randomness of step k comes only from (seed, k), so a resumed run continues exactly.
 *
 * Options:
 * - `steps` 500 — Adam steps (ours; Brown et al. train to convergence).
 * - `batchSize` 32 — images (scenes) per step (ours).
 * - `learningRate` 0.03 — Adam step size in input units (ours), β = (0.9, 0.999) (Kingma & Ba 2015).
 * - `tvWeight` 0 — weight of total variation (Sharif et al. 2016 tune it per setting).
 * - `npsWeight` 0 — weight of the non-printability score (Sharif et al. 2016 tune it per setting).
 *
 * @example
 * ```ts
 * const set = createPatchSet({ channels: 1, height: 28, width: 28 }, { size: 7 });
 * const state = await trainPatch(gradientOracle(model), x, labels, set, ranges, { target: 3, seed: 0 });
 * ```
 */
import type { GradientOracle } from '../model/oracles.js';
import { checkOption, nonNegativeNumber, positiveInteger, positiveNumber, resolveOptions } from '../options.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { argmaxRows } from '../tensor/tensor.js';
import { composeBatch, patchGradient } from '../physical/patch-scene.js';
import type { PatchSet } from '../physical/patch-set.js';
import { defaultPalette, nonPrintability, totalVariation } from '../physical/penalties.js';
import { checkPlacementRanges } from '../physical/placement.js';
import type { TransformRanges } from '../physical/transforms.js';

export interface PatchOptions {
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly tvWeight: number;
  readonly npsWeight: number;
}

export const PATCH_DEFAULTS: PatchOptions = Object.freeze({ steps: 500, batchSize: 32, learningRate: 0.03, tvWeight: 0, npsWeight: 0 });

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPS = 1e-8;

/** Everything a resumed run needs: the step reached, the patch and Adam's moments. */
export interface PatchState {
  readonly step: number;
  readonly patch: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

export interface PatchStepReport {
  readonly step: number;
  readonly loss: number;
  /** Fraction of the step's composed images that were adversarial before the update. */
  readonly success: number;
  readonly tv: number;
  readonly nps: number;
}

export interface PatchRun {
  /** Target class, or null for untargeted. */
  readonly target: number | null;
  readonly seed: number;
  /** Continue from this state (resume). */
  readonly state?: PatchState;
  readonly signal?: AbortSignal;
  /** Called after every step with the new state (checkpoints, progress). */
  readonly onStep?: (state: PatchState, report: PatchStepReport) => void | Promise<void>;
}

export function resolvePatchOptions(options: Partial<PatchOptions> = {}): Readonly<PatchOptions> {
  return resolveOptions('patch', PATCH_DEFAULTS, options, {
    steps: positiveInteger,
    batchSize: positiveInteger,
    learningRate: positiveNumber,
    tvWeight: nonNegativeNumber,
    npsWeight: nonNegativeNumber,
  });
}

/** The first patch: uniform noise in the domain, from (seed, 'init'). */
export function initialPatch(set: PatchSet, seed: number, bounds: { lower: number; upper: number }): PatchState {
  const n = set.patch.channels * set.patch.height * set.patch.width;
  const rng = Rng.derive(seed, 'patch-init');
  return { step: 0, patch: Float32Array.from({ length: n }, () => rng.uniformIn(bounds.lower, bounds.upper)), m: new Float32Array(n), v: new Float32Array(n) };
}

/** Indices of the training images a step may use: for a target, those whose true class is another. */
function usable(labels: Int32Array, target: number | null): Int32Array {
  return target === null ? Int32Array.from(labels.keys()) : Int32Array.from([...labels.keys()].filter((i) => labels[i] !== target));
}

/** What a training step asks of the model for a batch of composed images of training examples `rows`: the loss to ascend, its input gradient, and which rows already succeed. */
export type PatchObjective = (
  x: Tensor,
  rows: Int32Array,
) => Promise<{ readonly loss: Float32Array; readonly grad: Tensor; readonly success: ArrayLike<boolean> }>;

/** The classifier objective: CE towards the target (ascending −CE(target)), or CE of the true class; success read from the logits. */
function classifierObjective(oracle: GradientOracle, labels: Int32Array, target: number | null): PatchObjective {
  return async (x, rows) => {
    const y = Int32Array.from(rows, (k) => labels[k]!);
    const targets = target === null ? undefined : new Int32Array(rows.length).fill(target);
    const r = await oracle.lossAndGrad(x, y, targets ? 'ce-targeted' : 'ce', targets);
    const predicted = argmaxRows(r.logits);
    return { loss: r.loss, grad: r.grad, success: Array.from(predicted, (p, i) => (target === null ? p !== y[i] : p === target)) };
  };
}

export async function trainPatch(
  oracle: GradientOracle,
  x: Tensor,
  labels: Int32Array,
  set: PatchSet,
  ranges: TransformRanges,
  run: PatchRun,
  options: Partial<PatchOptions> = {},
): Promise<PatchState> {
  if (run.target !== null)
    checkOption('target', run.target, {
      expected: `a class 0…${oracle.numClasses - 1}`,
      valid: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < oracle.numClasses,
    });
  const pool = usable(labels, run.target);
  if (pool.length === 0) checkOption('target', run.target, { expected: 'a class that some training image does not have', valid: () => false });
  return trainPatchWith(classifierObjective(oracle, labels, run.target), oracle.bounds, x, pool, set, ranges, run, options);
}

/** The training loop for any objective (a classifier's, a sequence recogniser's …) over the training examples in `pool`. */
export async function trainPatchWith(
  objective: PatchObjective,
  bounds: { readonly lower: number; readonly upper: number },
  x: Tensor,
  pool: Int32Array,
  set: PatchSet,
  ranges: TransformRanges,
  run: Omit<PatchRun, 'target'>,
  options: Partial<PatchOptions> = {},
): Promise<PatchState> {
  const o = resolvePatchOptions(options);
  checkPlacementRanges(set, ranges);
  const row = set.image.channels * set.image.height * set.image.width;
  const palette = defaultPalette(set.patch.channels);
  let state = run.state ?? initialPatch(set, run.seed, bounds);
  const patch = Float32Array.from(state.patch);
  const m = Float32Array.from(state.m);
  const v = Float32Array.from(state.v);
  for (let step = state.step; step < o.steps; step++) {
    run.signal?.throwIfAborted();
    const rng = Rng.derive(run.seed, 'patch-step', step);
    const b = Math.min(o.batchSize, pool.length);
    const pick = Int32Array.from({ length: b }, () => pool[rng.integer(pool.length)]!);
    const batch = new Float32Array(b * row);
    pick.forEach((k, i) => batch.set(x.data.subarray(k * row, (k + 1) * row), i * row));
    const composed = composeBatch(set, { data: batch, shape: [b, ...x.shape.slice(1)] }, patch, ranges, rng, bounds);
    const r = await objective(composed.x, pick);
    const g = patchGradient(set, composed.scenes, r.grad);
    const tv = totalVariation(patch, set.patch, set.mask);
    const nps = nonPrintability(patch, set.patch, set.mask, palette);
    const t = step + 1;
    for (let j = 0; j < patch.length; j++) {
      const gj = g[j]! - o.tvWeight * tv.grad[j]! - o.npsWeight * nps.grad[j]!;
      m[j] = BETA1 * m[j]! + (1 - BETA1) * gj;
      v[j] = BETA2 * v[j]! + (1 - BETA2) * gj * gj;
      const mh = m[j]! / (1 - BETA1 ** t);
      const vh = v[j]! / (1 - BETA2 ** t);
      patch[j] = Math.min(bounds.upper, Math.max(bounds.lower, patch[j]! + (o.learningRate * mh) / (Math.sqrt(vh) + ADAM_EPS)));
    }
    const hits = Array.from(r.success).filter(Boolean).length;
    state = { step: t, patch: Float32Array.from(patch), m: Float32Array.from(m), v: Float32Array.from(v) };
    const loss = r.loss.reduce((a, l) => a + l, 0) / b;
    await run.onStep?.(state, { step: t, loss, success: hits / b, tv: tv.value, nps: nps.value });
  }
  return state;
}
