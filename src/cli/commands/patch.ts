/**
 * `gibbon patch train MODEL [--target CLASS|untargeted] [--size 7|10%] [--shape square|circle] [--region R.npy] … --out DIR`
 * trains an adversarial patch (Brown et al. 2017) with EOT over placement, rotation, scale,
 * brightness/contrast, blur and noise (and print-and-scan with --print-scan) on the training split,
 * checkpointing to DIR/checkpoint.json (`--resume` continues), then saves it (DIR/patch.json, .npy,
 * .png, -print.png) and measures it on held-out data under new draws of the transforms.
 *
 * `gibbon patch eval MODEL --patch DIR/patch.json [--data …] [transform options] --out DIR2` measures
 * a saved patch on other data, another model (transfer) or other transforms, with and without a
 * simulated print-and-scan. Both write report.json and report.html.
 */
import { join, resolve } from 'node:path';
import { GibbonError } from '../../errors.js';
import type { LabelledData } from '../../data/datasets.js';
import { trainPatch, type PatchState } from '../../attacks/patch.js';
import { cleanPredictions, measurePatch, sweepPatch } from '../../attacks/patch-measure.js';
import type { OnnxModel } from '../../model/onnx-model.js';
import { gradientOracle } from '../../model/oracles.js';
import { createPatchSet, type PatchSet, type PatchShape, type PatchSize } from '../../physical/patch-set.js';
import { checkPlacementRanges } from '../../physical/placement.js';
import { savePerturbation } from '../../physical/saved-perturbation.js';
import { checkTransformRanges, IDENTITY_RANGES, type TransformRanges } from '../../physical/transforms.js';
import { deriveSeed } from '../../random.js';
import type { Condition, PhysicalReport } from '../../report/patch-html.js';
import { readNpy, toFloat32 } from '../../tensor/npy.js';
import { packageVersion } from '../package-root.js';
import { startProgress } from '../progress.js';
import type { Terminal } from '../terminal.js';
import {
  asTensor,
  openSaved,
  printResult,
  runAction,
  withModel,
  floatsFrom,
  heldOutSplit,
  imageShape,
  openModel,
  prepareOut,
  readRunState,
  trainingSplit,
  writeRunState,
  type PhysicalRunValues,
} from '../physical-run.js';
import { writePhysicalReport } from '../physical-report.js';

export interface PatchValues extends PhysicalRunValues {
  readonly action: string;
  readonly model: string;
  readonly target: string;
  readonly size: PatchSize;
  readonly shape: PatchShape;
  readonly region?: string;
  readonly patch?: string;
  readonly steps: number;
  readonly lr: number;
  readonly tv: number;
  readonly nps: number;
  readonly rotation: number;
  readonly scale: readonly [number, number];
  readonly brightness: number;
  readonly contrast: number;
  readonly blur: number;
  readonly noise: number;
  readonly printScan?: boolean;
}

const FORMAT = 'gibbon-patch-checkpoint';
/** Steps between checkpoints. */
const CHECKPOINT_EVERY = 20;

function rangesOf(values: PatchValues): TransformRanges {
  return checkTransformRanges({
    rotation: values.rotation,
    scale: values.scale,
    brightness: values.brightness,
    contrast: values.contrast,
    blur: values.blur,
    noise: values.noise,
    printScan: values.printScan === true,
  });
}

function parseTarget(raw: string, numClasses: number): number | null {
  if (raw === 'untargeted') return null;
  const t = Number(raw);
  if (!Number.isInteger(t) || t < 0 || t >= numClasses) {
    throw new GibbonError('invalid_option', `--target must be 'untargeted' or a class 0…${numClasses - 1} of the model; got '${raw}'`, { option: '--target' });
  }
  return t;
}

function readRegion(path: string, image: { height: number; width: number }): Uint8Array {
  const t = readNpy(path);
  const values = toFloat32(t);
  if (values.length !== image.height * image.width) {
    throw new GibbonError('invalid_input', `region mask ${path} has shape [${t.shape.join(', ')}]; the images are ${image.height}×${image.width}`, {
      path,
      option: '--region',
    });
  }
  return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
}

/** What a patch does on held-out data: the conditions, the curves, per class, example images. */
async function measureAll(
  model: OnnxModel,
  data: LabelledData,
  set: PatchSet,
  patch: Float32Array,
  ranges: TransformRanges,
  target: number | null,
  seed: number,
) {
  const x = asTensor(data);
  const run = { target, seed: deriveSeed(seed, 'held-out'), bounds: { lower: 0, upper: 1 }, clean: await cleanPredictions(model, x) };
  const fits = (r: TransformRanges): boolean => {
    try {
      checkPlacementRanges(set, r);
      return true;
    } catch {
      return false;
    }
  };
  const held = await measurePatch(model, x, data.y, set, patch, ranges, run);
  const conditions: Condition[] = [
    { label: 'held-out transforms', rate: held.rate, eligible: held.eligible, successes: held.successes, coverage: held.meanCoverage },
  ];
  const printed = await measurePatch(model, x, data.y, set, patch, { ...ranges, printScan: true }, { ...run, keep: 0 });
  conditions.push({
    label: 'held-out transforms + print-and-scan',
    rate: printed.rate,
    eligible: printed.eligible,
    successes: printed.successes,
    coverage: printed.meanCoverage,
  });
  const plain = await measurePatch(model, x, data.y, set, patch, IDENTITY_RANGES, { ...run, keep: 0 });
  conditions.push({
    label: 'upright, scale 1, no camera effects',
    rate: plain.rate,
    eligible: plain.eligible,
    successes: plain.successes,
    coverage: plain.meanCoverage,
  });
  const sweeps = await sweepPatch({ model, x, labels: data.y, set, patch }, ranges, run, fits);
  return { held, conditions, sweeps };
}

async function report(
  values: PatchValues,
  model: OnnxModel,
  data: LabelledData,
  set: PatchSet,
  patch: Float32Array,
  target: number | null,
  saved: string,
  training?: Record<string, unknown>,
): Promise<string[]> {
  const ranges = rangesOf(values);
  const { held, conditions, sweeps } = await measureAll(model, data, set, patch, ranges, target, values.seed);
  const ex = held.examples;
  const row = ex.x.data.length / Math.max(1, ex.x.shape[0]!);
  const result: PhysicalReport = {
    format: 'gibbon-physical-report',
    version: 1,
    kind: 'patch',
    gibbonVersion: packageVersion(),
    model: values.model,
    data: data.source,
    seed: values.seed,
    saved,
    target,
    measure: target === null ? 'untargeted success' : 'targeted success',
    values: { shape: [set.patch.channels, set.patch.height, set.patch.width], data: [...patch], mask: [...set.mask] },
    conditions,
    scaleSweep: sweeps.scale,
    rotationSweep: sweeps.rotation,
    perClass: held.perClass,
    examples: {
      shape: ex.x.shape.slice(1),
      images: Array.from(ex.labels, (_, i) => [...ex.x.data.subarray(i * row, (i + 1) * row)]),
      labels: [...ex.labels],
      predicted: [...ex.predicted],
    },
    transforms: { ...ranges },
    ...(training ? { training } : {}),
  };
  writePhysicalReport(values.out, result);
  return conditions.map(
    (c) =>
      `${c.label}: ${(100 * c.rate).toFixed(1)}% (${c.successes}/${c.eligible}${c.coverage !== undefined ? `, ${(100 * c.coverage).toFixed(1)}% of the image covered` : ''})`,
  );
}

async function train(values: PatchValues, terminal: Terminal): Promise<void> {
  prepareOut(values.out);
  const data = trainingSplit(values);
  const held = heldOutSplit(values);
  const image = imageShape(data, '--data');
  const model = await openModel(values.model, data, values);
  try {
    const target = parseTarget(values.target, model.numClasses);
    const set = createPatchSet(image, {
      size: values.size,
      shape: values.shape,
      region: values.region ? readRegion(values.region, image) : undefined,
      regionSource: values.region,
    });
    const ranges = rangesOf(values);
    checkPlacementRanges(set, ranges);
    const options = { steps: values.steps, batchSize: values.batchSize ?? 32, learningRate: values.lr, tvWeight: values.tv, npsWeight: values.nps };
    const fingerprint = {
      model: resolve(values.model),
      data: data.source,
      n: data.n,
      target,
      side: set.patch.height,
      shape: set.shape,
      region: values.region ?? null,
      ranges,
      options,
      seed: values.seed,
    };
    const saved = readRunState(values.out, FORMAT, fingerprint, values.resume === true, terminal);
    const size = set.patch.channels * set.patch.height * set.patch.width;
    const ckpt = join(values.out, 'checkpoint.json');
    const state: PatchState | undefined = saved
      ? {
          step: Number(saved.step),
          patch: floatsFrom(saved.patch, size, 'patch', ckpt),
          m: floatsFrom(saved.m, size, 'm', ckpt),
          v: floatsFrom(saved.v, size, 'v', ckpt),
        }
      : undefined;
    if (state) terminal.note(`resuming at step ${state.step} of ${values.steps}`);
    terminal.note(
      `patch ${set.patch.height}×${set.patch.width} ${set.shape}: ${set.area} pixels, ${(100 * set.fraction).toFixed(1)}% of the ${image.height}×${image.width} image at scale 1`,
    );
    const progress = await startProgress(terminal, 'patch', values.steps);
    const started = performance.now();
    const log: { step: number; loss: number; success: number }[] = [];
    const final = await trainPatch(
      gradientOracle(model),
      asTensor(data),
      data.y,
      set,
      ranges,
      {
        target,
        seed: values.seed,
        state,
        onStep: (s, r) => {
          progress.update(s.step);
          if (s.step % 25 === 0 || s.step === values.steps) log.push({ step: s.step, loss: r.loss, success: r.success });
          if (s.step % CHECKPOINT_EVERY === 0 || s.step === values.steps)
            writeRunState(values.out, FORMAT, fingerprint, { step: s.step, patch: [...s.patch], m: [...s.m], v: [...s.v] });
        },
      },
      options,
    );
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    const manifest = savePerturbation(join(values.out, 'patch'), {
      kind: 'patch',
      inputShape: [image.channels, image.height, image.width],
      valuesShape: [set.patch.channels, set.patch.height, set.patch.width],
      values: final.patch,
      alpha: set.mask,
      patch: { shape: set.shape, side: set.patch.height, area: set.area, fraction: set.fraction },
      target,
      transforms: ranges,
      dpi: values.dpi,
      mm: values.printMm,
      training: { model: values.model, data: data.source, n: data.n, steps: values.steps, seed: values.seed, options, seconds },
    });
    const lines = await report(values, model, held, set, final.patch, target, manifest, { steps: values.steps, seconds, log });
    printResult(terminal, [`trained in ${seconds.toFixed(1)} s; wrote ${manifest}`, `on ${held.n} held-out images of ${held.source}:`], lines, values.out);
  } finally {
    await model.dispose();
  }
}

async function evaluate(values: PatchValues, terminal: Terminal): Promise<void> {
  const { saved, data } = openSaved(values, values.patch, 'patch');
  const image = imageShape(data, '--data');
  await withModel(values.model, data, values, async (model) => {
    const set = createPatchSet(image, { size: saved.manifest.patch!.side, shape: saved.manifest.patch!.shape });
    const lines = await report(values, model, data, set, saved.values, saved.manifest.target, saved.path);
    printResult(terminal, [`${saved.path} on ${data.n} images of ${data.source}, model ${values.model}:`], lines, values.out);
  });
}

export async function run(values: PatchValues, terminal: Terminal): Promise<void> {
  return runAction('patch', values, terminal, { train, eval: evaluate });
}
