/**
 * Universal adversarial perturbation (UAP) — one δ with ‖δ‖ ≤ ε that changes the classifier's
 * decision on most inputs, found on a training set and measured on held-out data.
 *
 * Papers:
 * - `deepfool`: Moosavi-Dezfooli, Fawzi, Fawzi & Frossard, "Universal adversarial perturbations",
 *   CVPR 2017, https://arxiv.org/abs/1610.08401 (Algorithm 1): passes over the data; for every
 *   input that x + δ does not fool, DeepFool's minimal step Δ from x + δ, then δ ← P_ε(δ + Δ);
 *   stop when the fooling rate on the data reaches 1 − ξ. Here the inputs of a pass are taken in
 *   mini-batches: DeepFool runs on a batch at the current δ and the steps are then added and
 *   projected one by one (the paper adds each step before the next DeepFool).
 * - `sgd`: Shafahi, Najibi, Xu, Dickerson, Davis & Goldstein, "Universal Adversarial Training",
 *   AAAI 2020, https://arxiv.org/abs/1812.03705 (Algorithm 1, the perturbation's update): projected
 *   stochastic gradient ascent on the mean loss of a mini-batch, δ ← P_ε(δ + α · dir(∇_δ Σ L)),
 *   with the per-example cross-entropy clipped at `lossCap` (the paper's clamped loss: examples
 *   already fooled stop pulling δ).
 *
 * Threat model: white-box (GradientOracle); the `universal` perturbation set (physical/
 * universal-set.ts), L∞ or L2; untargeted. Fooling rate: the fraction of inputs whose predicted
 * class changes, k(x + δ) ≠ k(x) (Moosavi-Dezfooli et al. 2017).
 *
 * Options:
 * - `method` 'sgd'.
 * - `epochs` 5 — passes over the training data (ours; the 2017 algorithm stops at the fooling goal).
 * - `batchSize` 64 for sgd (ours), 1 for deepfool (the paper's one input at a time).
 * - `stepSize` ε/10 — α of the SGD update (as a fraction of ε: `relStepsize` 0.1; ours).
 * - `lossCap` 10 — clamp of the cross-entropy (Shafahi et al. 2020 clamp it; the value is ours).
 * - `foolingGoal` 0.8 — 1 − ξ with ξ = 0.2 (Moosavi-Dezfooli et al. 2017, Section 3).
 * - `overshoot` 0.02 — DeepFool's overshoot (Moosavi-Dezfooli et al. 2016).
 */
import { DeepFoolAttack } from './deepfool.js';
import { misclassification } from '../criteria/misclassification.js';
import type { ClassifierModel, GradientOracle } from '../model/oracles.js';
import { nonNegativeNumber, numberIn, oneOf, positiveInteger, positiveNumber, resolveOptions } from '../options.js';
import { Rng } from '../random.js';
import { argmaxRows, type Tensor } from '../tensor/tensor.js';
import { applyUniversal, ascentDirection, projectUniversal, type UniversalSet } from '../physical/universal-set.js';
import { cleanPredictions } from './patch-measure.js';
import { drawPrintScan } from '../physical/transforms.js';

export type UapMethod = 'sgd' | 'deepfool';
export const UAP_METHODS: readonly UapMethod[] = Object.freeze(['sgd', 'deepfool']);

export interface UapOptions {
  readonly method: UapMethod;
  readonly epochs: number;
  readonly batchSize: number;
  readonly relStepsize: number;
  readonly lossCap: number;
  readonly foolingGoal: number;
  readonly overshoot: number;
}

export const UAP_DEFAULTS: UapOptions = Object.freeze({
  method: 'sgd',
  epochs: 5,
  batchSize: 64,
  relStepsize: 0.1,
  lossCap: 10,
  foolingGoal: 0.8,
  overshoot: 0.02,
});

export function resolveUapOptions(options: Partial<UapOptions> = {}): Readonly<UapOptions> {
  // The 2017 algorithm updates δ after every input: DeepFool runs one input at a time unless told otherwise.
  const defaults = options.method === 'deepfool' ? { ...UAP_DEFAULTS, batchSize: 1 } : UAP_DEFAULTS;
  return resolveOptions('uap', defaults, options, {
    method: oneOf(UAP_METHODS),
    epochs: positiveInteger,
    batchSize: positiveInteger,
    relStepsize: positiveNumber,
    lossCap: positiveNumber,
    foolingGoal: numberIn(0, 1),
    overshoot: nonNegativeNumber,
  });
}

/** Where a run is: the next (epoch, batch) and δ. */
export interface UapState {
  readonly epoch: number;
  readonly batch: number;
  readonly delta: Float32Array;
  /** Fooling rate on the training data after the last finished epoch (NaN before). */
  readonly trainFooling: number;
}

export interface UapRun {
  readonly seed: number;
  readonly state?: UapState;
  readonly signal?: AbortSignal;
  readonly onBatch?: (state: UapState, progress: { readonly batches: number; readonly done: number }) => void | Promise<void>;
}

function rows(x: Tensor, order: Int32Array, start: number, end: number): Tensor {
  const row = x.data.length / x.shape[0]!;
  const out = new Float32Array((end - start) * row);
  for (let i = start; i < end; i++) out.set(x.data.subarray(order[i]! * row, (order[i]! + 1) * row), (i - start) * row);
  return { data: out, shape: [end - start, ...x.shape.slice(1)] };
}

/** The fraction of inputs whose predicted class changes under δ (scaled by `factor`, projected back into the set). */
export async function foolingRate(
  model: ClassifierModel,
  set: UniversalSet,
  x: Tensor,
  delta: Float32Array,
  clean?: Int32Array,
  batchSize = 256,
): Promise<{ rate: number; fooled: Uint8Array; clean: Int32Array; after: Int32Array }> {
  const before = clean ?? (await cleanPredictions(model, x, batchSize));
  const after = await cleanPredictions(model, applyUniversal(set, x, delta), batchSize);
  const fooled = Uint8Array.from(after, (p, i) => (p !== before[i] ? 1 : 0));
  return { rate: fooled.reduce((a, b) => a + b, 0) / Math.max(1, fooled.length), fooled, clean: before, after };
}

export async function trainUap(oracle: GradientOracle, set: UniversalSet, x: Tensor, run: UapRun, options: Partial<UapOptions> = {}): Promise<UapState> {
  const o = resolveUapOptions(options);
  const n = x.shape[0]!;
  const clean = argmaxRows(await oracle.logits(x));
  const batches = Math.ceil(n / o.batchSize);
  let state: UapState = run.state ?? { epoch: 0, batch: 0, delta: new Float32Array(x.data.length / n), trainFooling: NaN };
  let delta: Float32Array = Float32Array.from(state.delta);
  const model = { numClasses: oracle.numClasses, inputShape: [null, ...set.shape], logits: (t: Tensor) => oracle.logits(t) };
  for (let epoch = state.epoch; epoch < o.epochs; epoch++) {
    // The 2017 algorithm stops once the fooling rate on the data reaches the goal.
    if (o.method === 'deepfool' && state.trainFooling >= o.foolingGoal) break;
    const order = Rng.derive(run.seed, 'uap-epoch', epoch).permutation(n);
    for (let b = epoch === state.epoch ? state.batch : 0; b < batches; b++) {
      run.signal?.throwIfAborted();
      const idx = order.subarray(b * o.batchSize, Math.min(n, (b + 1) * o.batchSize));
      const xb = rows(x, order, b * o.batchSize, Math.min(n, (b + 1) * o.batchSize));
      const yb = Int32Array.from(idx, (k) => clean[k]!);
      const xd = applyUniversal(set, xb, delta);
      if (o.method === 'sgd') {
        const r = await oracle.lossAndGrad(xd, yb, 'ce');
        const row = delta.length;
        const g = new Float32Array(row);
        for (let i = 0; i < yb.length; i++) {
          if (r.loss[i]! > o.lossCap) continue;
          for (let j = 0; j < row; j++) g[j] = g[j]! + r.grad.data[i * row + j]!;
        }
        const dir = ascentDirection(set, g);
        delta = projectUniversal(
          set,
          delta.map((d, j) => d + o.relStepsize * set.eps * dir[j]!),
        );
      } else {
        const still = argmaxRows(await oracle.logits(xd)).reduce<number[]>((a, p, i) => (p === yb[i] ? [...a, i] : a), []);
        if (still.length > 0) {
          const sub = rows(xd, Int32Array.from(still), 0, still.length);
          const attack = new DeepFoolAttack({ overshoot: o.overshoot });
          const r = await attack.run(oracle.forExamples(Int32Array.from(still, (i) => idx[i]!)), sub, misclassification(still.map((i) => yb[i]!)), {
            eps: set.eps,
            norm: set.norm,
            rng: Rng.derive(run.seed, 'uap-deepfool', epoch, b),
          });
          const row = delta.length;
          for (let i = 0; i < still.length; i++) {
            const step = new Float32Array(row);
            for (let j = 0; j < row; j++) step[j] = r.adversarial.data[i * row + j]! - sub.data[i * row + j]!;
            delta = projectUniversal(
              set,
              delta.map((d, j) => d + step[j]!),
            );
          }
        }
      }
      state = { epoch, batch: b + 1, delta: Float32Array.from(delta), trainFooling: state.trainFooling };
      await run.onBatch?.(state, { batches: o.epochs * batches, done: epoch * batches + b + 1 });
    }
    const { rate } = await foolingRate(model, set, x, delta, clean);
    state = { epoch: epoch + 1, batch: 0, delta: Float32Array.from(delta), trainFooling: rate };
    await run.onBatch?.(state, { batches: o.epochs * batches, done: (epoch + 1) * batches });
  }
  return state;
}

/** Each input printed and scanned (one draw of the simulation per input, the same for x and x + δ): the fraction whose prediction δ changes. */
export async function foolingAfterPrintScan(
  model: ClassifierModel,
  set: UniversalSet,
  x: Tensor,
  delta: Float32Array,
  seed: number,
): Promise<{ rate: number; fooled: number; before: Int32Array; after: Int32Array }> {
  const [channels, height, width] = set.shape.length === 3 ? (set.shape as [number, number, number]) : [1, 1, set.shape.at(-1)!];
  const n = x.shape[0]!;
  const row = delta.length;
  const rng = Rng.derive(seed, 'uap-print-scan');
  const perturbed = applyUniversal(set, x, delta);
  const a = new Float32Array(x.data.length);
  const b = new Float32Array(x.data.length);
  for (let i = 0; i < n; i++) {
    const op = drawPrintScan({ channels: channels!, height: height!, width: width! }, rng);
    a.set(op.forward(x.data.subarray(i * row, (i + 1) * row)), i * row);
    b.set(op.forward(perturbed.data.subarray(i * row, (i + 1) * row)), i * row);
  }
  const before = await cleanPredictions(model, { data: a, shape: x.shape });
  const after = await cleanPredictions(model, { data: b, shape: x.shape });
  const fooled = after.reduce((s, p, i) => s + (p !== before[i] ? 1 : 0), 0);
  return { rate: fooled / Math.max(1, n), fooled, before, after };
}
