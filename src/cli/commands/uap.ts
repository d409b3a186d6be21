/**
 * `gibbon uap train MODEL --eps 0.3 [--norm linf|l2] [--method sgd|deepfool] [--epochs K] … --out DIR`
 * finds a universal adversarial perturbation on the training split (checkpointing to
 * DIR/checkpoint.json; `--resume` continues), saves it (DIR/uap.json, .npy, .png, -print.png) and
 * measures its fooling rate on held-out data, on a second model (--compare, transfer), after a
 * simulated print-and-scan, and against ε (δ scaled down).
 *
 * `gibbon uap eval MODEL --uap DIR/uap.json [--compare OTHER.onnx] [--eps-sweep …] --out DIR2`
 * measures a saved UAP the same way on other data or models. Both write report.json and report.html.
 */
import { join, resolve } from 'node:path';
import type { LabelledData } from '../../data/datasets.js';
import { trainUap, type UapMethod, type UapState } from '../../attacks/uap.js';
import type { OnnxModel } from '../../model/onnx-model.js';
import { gradientOracle } from '../../model/oracles.js';
import { normByName } from '../../norms/index.js';
import { IDENTITY_RANGES } from '../../physical/transforms.js';
import { loadPerturbation, savePerturbation, type SavedPerturbation } from '../../physical/saved-perturbation.js';
import { evaluateUaps, uapLines } from '../../evaluation/uap-runner.js';
import { createUniversalSet } from '../../physical/universal-set.js';
import { packageVersion } from '../package-root.js';
import { startProgress } from '../progress.js';
import type { Terminal } from '../terminal.js';
import { writePhysicalReport } from '../physical-report.js';
import {
  asTensor,
  openSaved,
  printResult,
  runAction,
  withModel,
  floatsFrom,
  heldOutSplit,
  openModel,
  prepareOut,
  readRunState,
  trainingSplit,
  writeRunState,
  type PhysicalRunValues,
} from '../physical-run.js';

export interface UapValues extends PhysicalRunValues {
  readonly action: string;
  readonly model: string;
  readonly eps: number;
  readonly norm: 'linf' | 'l2';
  readonly method: UapMethod;
  readonly epochs: number;
  readonly uap?: string;
  readonly epsSweep?: readonly number[];
  readonly compare?: string;
}

const FORMAT = 'gibbon-uap-checkpoint';

/** Measures the saved UAP on held-out data (and on --compare) and writes the report; the lines to print. */
async function report(
  values: UapValues,
  model: OnnxModel,
  data: LabelledData,
  saved: SavedPerturbation,
  training?: Record<string, unknown>,
): Promise<string[]> {
  const other = values.compare ? await openModel(values.compare, data, values) : undefined;
  try {
    const result = await evaluateUaps({
      models: [{ name: values.model, model }, ...(other ? [{ name: values.compare!, model: other }] : [])],
      data,
      uaps: [saved],
      printScan: true,
      ...(values.epsSweep ? { epsSweep: values.epsSweep } : {}),
      seed: values.seed,
      gibbonVersion: packageVersion(),
      ...(training ? { training } : {}),
    });
    writePhysicalReport(values.out, result);
    return uapLines(result);
  } finally {
    await other?.dispose();
  }
}

async function train(values: UapValues, terminal: Terminal): Promise<void> {
  prepareOut(values.out);
  const data = trainingSplit(values);
  const held = heldOutSplit(values);
  const model = await openModel(values.model, data, values);
  try {
    const set = createUniversalSet(normByName(values.norm), values.eps, data.shape, { lower: 0, upper: 1 });
    const options = { method: values.method, epochs: values.epochs, ...(values.batchSize ? { batchSize: values.batchSize } : {}) };
    const fingerprint = { model: resolve(values.model), data: data.source, n: data.n, norm: values.norm, eps: values.eps, options, seed: values.seed };
    const saved = readRunState(values.out, FORMAT, fingerprint, values.resume === true, terminal);
    const row = data.shape.reduce((a, b) => a * b, 1);
    const ckpt = join(values.out, 'checkpoint.json');
    const state: UapState | undefined = saved
      ? {
          epoch: Number(saved.epoch),
          batch: Number(saved.batch),
          delta: floatsFrom(saved.delta, row, 'delta', ckpt),
          trainFooling: saved.trainFooling === null ? NaN : Number(saved.trainFooling),
        }
      : undefined;
    if (state) terminal.note(`resuming at epoch ${state.epoch + 1}, batch ${state.batch}`);
    const batches = Math.ceil(data.n / (values.batchSize ?? (values.method === 'deepfool' ? 1 : 64))) * values.epochs;
    const progress = await startProgress(terminal, 'uap', batches);
    const started = performance.now();
    const log: { epoch: number; trainFooling: number }[] = [];
    const final = await trainUap(
      gradientOracle(model),
      set,
      asTensor(data),
      {
        seed: values.seed,
        state,
        onBatch: (s, p) => {
          progress.update(p.done);
          if (s.batch === 0) log.push({ epoch: s.epoch, trainFooling: s.trainFooling });
          writeRunState(values.out, FORMAT, fingerprint, {
            epoch: s.epoch,
            batch: s.batch,
            delta: [...s.delta],
            trainFooling: Number.isNaN(s.trainFooling) ? null : s.trainFooling,
          });
        },
      },
      options,
    );
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    const manifest = savePerturbation(join(values.out, 'uap'), {
      kind: 'uap',
      inputShape: [...data.shape],
      valuesShape: [...data.shape],
      values: final.delta,
      universal: { norm: values.norm, eps: values.eps },
      target: null,
      transforms: IDENTITY_RANGES,
      dpi: values.dpi,
      mm: values.printMm,
      training: { model: values.model, data: data.source, n: data.n, seed: values.seed, options, seconds, trainFooling: final.trainFooling },
    });
    const written = loadPerturbation(manifest, '--out');
    const lines = await report(values, model, held, written, { seconds, log });
    printResult(
      terminal,
      [
        `trained in ${seconds.toFixed(1)} s (fooling rate on the training data ${(100 * final.trainFooling).toFixed(1)}%); wrote ${manifest} (values SHA-256 ${written.manifest.values.sha256})`,
        `on ${held.n} held-out inputs of ${held.source}:`,
      ],
      lines,
      values.out,
    );
  } finally {
    await model.dispose();
  }
}

async function evaluate(values: UapValues, terminal: Terminal): Promise<void> {
  const { saved, data } = openSaved(values, values.uap, 'uap');
  await withModel(values.model, data, values, async (model) => {
    const lines = await report(values, model, data, saved);
    printResult(terminal, [`${saved.path} on ${data.n} inputs of ${data.source}:`], lines, values.out);
  });
}

export async function run(values: UapValues, terminal: Terminal): Promise<void> {
  return runAction('uap', values, terminal, { train, eval: evaluate });
}
