/**
 * How well a patch works: on labelled images, each with its own scene drawn from a transform
 * distribution (new placements, rotations, scales … from a seed of its own), the fraction of
 * eligible images where it succeeds. Targeted: images of another class that the model then calls
 * the target. Untargeted: images the model classified correctly that it then misclassifies.
 * Under a best-placement policy (`centres`) the attacker tries each centre and keeps the first
 * that succeeds. Also clean and patched accuracy, per true class, and the first composed images.
 */
import type { ClassifierModel } from '../model/oracles.js';
import { Rng } from '../random.js';
import { argmaxRows, type Tensor } from '../tensor/tensor.js';
import { composeBatch } from '../physical/patch-scene.js';
import type { PatchSet } from '../physical/patch-set.js';
import type { TransformRanges } from '../physical/transforms.js';

export interface PatchMeasurement {
  /** Images the rate is over. */
  readonly eligible: number;
  readonly successes: number;
  readonly rate: number;
  /** Accuracy on all the images, without and with the patch. */
  readonly cleanAccuracy: number;
  readonly accuracy: number;
  /** Per true class: eligible images and successes. */
  readonly perClass: readonly { readonly label: number; readonly eligible: number; readonly successes: number }[];
  /** Mean fraction of the image the placed patch covered. */
  readonly meanCoverage: number;
  /** The first composed images (N, C, H, W) and what the model said of them. */
  readonly examples: { readonly x: Tensor; readonly predicted: Int32Array; readonly labels: Int32Array };
}

export interface MeasureRun {
  readonly target: number | null;
  readonly seed: number;
  readonly bounds: { readonly lower: number; readonly upper: number };
  readonly batchSize?: number;
  /** Composed images kept for the report (default 8). */
  readonly keep?: number;
  /** Clean predictions of x, when already known. */
  readonly clean?: Int32Array;
  /** Best placement (the attacker sticks the patch where it works): the centres tried per image; random placement when absent. */
  readonly centres?: readonly { readonly x: number; readonly y: number }[];
}

async function predict(model: ClassifierModel, x: Tensor, batchSize: number): Promise<Int32Array> {
  const n = x.shape[0]!;
  const row = x.data.length / Math.max(1, n);
  const out = new Int32Array(n);
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    out.set(argmaxRows(await model.logits({ data: x.data.subarray(s * row, e * row), shape: [e - s, ...x.shape.slice(1)] })), s);
  }
  return out;
}

export async function cleanPredictions(model: ClassifierModel, x: Tensor, batchSize = 256): Promise<Int32Array> {
  return predict(model, x, batchSize);
}

/** Whether the patched prediction counts as a success on an example (true class y, clean prediction). */
function succeeded(target: number | null, y: number, predicted: number): boolean {
  return target === null ? predicted !== y : predicted === target;
}

export async function measurePatch(
  model: ClassifierModel,
  x: Tensor,
  labels: Int32Array,
  set: PatchSet,
  patch: Float32Array,
  ranges: TransformRanges,
  run: MeasureRun,
): Promise<PatchMeasurement> {
  const batchSize = run.batchSize ?? 256;
  const clean = run.clean ?? (await predict(model, x, batchSize));
  const n = x.shape[0]!;
  const row = set.image.channels * set.image.height * set.image.width;
  const keep = Math.min(n, run.keep ?? 8);
  const rng = Rng.derive(run.seed, 'patch-measure');
  // Random placement: one scene per image. Best placement: one scene per allowed centre, and the attacker keeps the first that works.
  const tries: readonly ({ x: number; y: number } | undefined)[] = run.centres?.length ? run.centres : [undefined];
  const perClass = new Map<number, { eligible: number; successes: number }>();
  let eligible = 0;
  let successes = 0;
  let correct = 0;
  let coverage = 0;
  const kept = new Float32Array(keep * row);
  const keptPredicted = new Int32Array(keep);
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const slice = { data: x.data.subarray(s * row, e * row), shape: [e - s, ...x.shape.slice(1)] };
    const chosen = new Int32Array(e - s).fill(-1);
    const chosenCoverage = new Float64Array(e - s);
    for (const centre of tries) {
      const composed = composeBatch(set, slice, patch, ranges, rng, run.bounds, centre);
      const predicted = argmaxRows(await model.logits(composed.x));
      for (let i = s; i < e; i++) {
        if (chosen[i - s] !== -1 && succeeded(run.target, labels[i]!, chosen[i - s]!)) continue;
        chosen[i - s] = predicted[i - s]!;
        chosenCoverage[i - s] = composed.scenes[i - s]!.warp.coverage.reduce((a, b) => a + b, 0) / (set.image.height * set.image.width);
        if (i < keep) kept.set(composed.x.data.subarray((i - s) * row, (i - s + 1) * row), i * row);
      }
    }
    for (let i = s; i < e; i++) {
      const y = labels[i]!;
      const p = chosen[i - s]!;
      coverage += chosenCoverage[i - s]!;
      if (i < keep) keptPredicted[i] = p;
      if (p === y) correct++;
      const counts = run.target === null ? clean[i] === y : y !== run.target;
      if (!counts) continue;
      const c = perClass.get(y) ?? { eligible: 0, successes: 0 };
      c.eligible++;
      eligible++;
      if (succeeded(run.target, y, p)) {
        c.successes++;
        successes++;
      }
      perClass.set(y, c);
    }
  }
  return {
    eligible,
    successes,
    rate: eligible > 0 ? successes / eligible : 0,
    cleanAccuracy: n > 0 ? clean.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / n : 0,
    accuracy: n > 0 ? correct / n : 0,
    perClass: [...perClass.entries()].sort((a, b) => a[0] - b[0]).map(([label, c]) => ({ label, ...c })),
    meanCoverage: n > 0 ? coverage / n : 0,
    examples: { x: { data: kept, shape: [keep, ...x.shape.slice(1)] }, predicted: keptPredicted, labels: labels.slice(0, keep) },
  };
}

/** Scales the patch is measured at for the area curve (those that fit the image). */
export const SWEEP_SCALES: readonly number[] = Object.freeze([0.6, 0.8, 1, 1.2, 1.4]);
/** Largest |rotation| values of the rotation curve (degrees). */
export const SWEEP_ROTATIONS: readonly number[] = Object.freeze([0, 10, 20, 30, 45]);

export interface PatchSweeps {
  readonly scale: readonly { readonly scale: number; readonly coverage: number; readonly rate: number }[];
  readonly rotation: readonly { readonly rotation: number; readonly rate: number }[];
}

/** The patch measured and what it is measured on. */
export interface PatchSubject {
  readonly model: ClassifierModel;
  readonly x: Tensor;
  readonly labels: Int32Array;
  readonly set: PatchSet;
  readonly patch: Float32Array;
}

/** Success against patch area (fixed scales, the rotations of `ranges`) and against rotation (the scales of `ranges`); `fits` skips settings the image cannot hold. */
export async function sweepPatch(subject: PatchSubject, ranges: TransformRanges, run: MeasureRun, fits: (r: TransformRanges) => boolean): Promise<PatchSweeps> {
  const scale: { scale: number; coverage: number; rate: number }[] = [];
  for (const s of SWEEP_SCALES) {
    const r = { ...ranges, scale: [s, s] as const };
    if (!fits(r)) continue;
    const m = await measurePatch(subject.model, subject.x, subject.labels, subject.set, subject.patch, r, { ...run, keep: 0 });
    scale.push({ scale: s, coverage: m.meanCoverage, rate: m.rate });
  }
  const rotation: { rotation: number; rate: number }[] = [];
  for (const a of SWEEP_ROTATIONS) {
    const r = { ...ranges, rotation: a };
    if (!fits(r)) continue;
    const m = await measurePatch(subject.model, subject.x, subject.labels, subject.set, subject.patch, r, { ...run, keep: 0 });
    rotation.push({ rotation: a, rate: m.rate });
  }
  return { scale, rotation };
}
