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
import { conditionLines, evaluatePatches } from '../../evaluation/physical-runner.js';
import type { OnnxModel } from '../../model/onnx-model.js';
import { gradientOracle } from '../../model/oracles.js';
import { createPatchSet, type PatchShape, type PatchSize } from '../../physical/patch-set.js';
import { checkPlacementRanges } from '../../physical/placement.js';
import { loadPerturbation, savePerturbation, type SavedPerturbation } from '../../physical/saved-perturbation.js';
import { checkTransformRanges, type TransformRanges } from '../../physical/transforms.js';
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

/** Measures the saved patch on held-out data (the transforms of the options) and writes the report; the lines to print. */
async function report(
  values: PatchValues,
  model: OnnxModel,
  data: LabelledData,
  saved: SavedPerturbation,
  training?: Record<string, unknown>,
): Promise<string[]> {
  const ranges = rangesOf(values);
  const result = await evaluatePatches({
    models: [{ name: values.model, model }],
    data,
    patches: [saved],
    ranges: () => ranges,
    printScan: true,
    seed: values.seed,
    gibbonVersion: packageVersion(),
    ...(training ? { training } : {}),
  });
  writePhysicalReport(values.out, result);
  return conditionLines(result);
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
    const written = loadPerturbation(manifest, '--out');
    const lines = await report(values, model, held, written, { steps: values.steps, seconds, log });
    printResult(
      terminal,
      [
        `trained in ${seconds.toFixed(1)} s; wrote ${manifest} (values SHA-256 ${written.manifest.values.sha256})`,
        `on ${held.n} held-out images of ${held.source}:`,
      ],
      lines,
      values.out,
    );
  } finally {
    await model.dispose();
  }
}

async function evaluate(values: PatchValues, terminal: Terminal): Promise<void> {
  const { saved, data } = openSaved(values, values.patch, 'patch');
  imageShape(data, '--data');
  await withModel(values.model, data, values, async (model) => {
    const lines = await report(values, model, data, saved);
    printResult(terminal, [`${saved.path} on ${data.n} images of ${data.source}, model ${values.model}:`], lines, values.out);
  });
}

export async function run(values: PatchValues, terminal: Terminal): Promise<void> {
  return runAction('patch', values, terminal, { train, eval: evaluate });
}
