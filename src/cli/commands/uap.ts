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
import { foolingAfterPrintScan, foolingRate, trainUap, type UapMethod, type UapState } from '../../attacks/uap.js';
import type { OnnxModel } from '../../model/onnx-model.js';
import { gradientOracle } from '../../model/oracles.js';
import { normByName } from '../../norms/index.js';
import { IDENTITY_RANGES } from '../../physical/transforms.js';
import { savePerturbation } from '../../physical/saved-perturbation.js';
import { applyUniversal, createUniversalSet, projectUniversal, type UniversalSet } from '../../physical/universal-set.js';
import type { Condition, PhysicalReport } from '../../report/patch-html.js';
import { argmaxRows } from '../../tensor/tensor.js';
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
const KEPT_EXAMPLES = 8;

async function report(
  values: UapValues,
  model: OnnxModel,
  data: LabelledData,
  set: UniversalSet,
  delta: Float32Array,
  saved: string,
  training?: Record<string, unknown>,
): Promise<string[]> {
  const x = asTensor(data);
  const names = [values.model];
  const others: OnnxModel[] = [];
  if (values.compare) {
    others.push(await openModel(values.compare, data, values));
    names.push(values.compare);
  }
  try {
    const models = [model, ...others];
    const conditions: Condition[] = [];
    const cleans: Int32Array[] = [];
    for (const [i, m] of models.entries()) {
      const f = await foolingRate(m, set, x, delta);
      cleans.push(f.clean);
      const fooled = f.fooled.reduce((a, b) => a + b, 0);
      conditions.push({ label: `held-out inputs, ${names[i]}`, rate: f.rate, eligible: data.n, successes: fooled });
    }
    const p = await foolingAfterPrintScan(model, set, x, delta, values.seed);
    conditions.push({ label: `print-and-scan, ${values.model}`, rate: p.rate, eligible: data.n, successes: p.fooled });
    const sweep = values.epsSweep ?? [0.25, 0.5, 0.75, 1].map((f) => f * set.eps);
    const epsSweep: { eps: number; rates: Record<string, number> }[] = [];
    for (const e of sweep) {
      const scaled = projectUniversal(
        set,
        delta.map((d) => (d * e) / set.eps),
        e,
      );
      const rates: Record<string, number> = {};
      for (const [i, m] of models.entries()) rates[names[i]!] = (await foolingRate(m, set, x, scaled, cleans[i])).rate;
      epsSweep.push({ eps: e, rates });
    }
    const first = Math.min(KEPT_EXAMPLES, data.n);
    const row = delta.length;
    const perturbed = applyUniversal(set, { data: x.data.subarray(0, first * row), shape: [first, ...data.shape] }, delta);
    const predicted = argmaxRows(await model.logits(perturbed));
    const fooledMain = (await foolingRate(model, set, x, delta, cleans[0])).fooled;
    const perClass = new Map<number, { eligible: number; successes: number }>();
    data.y.forEach((y, i) => {
      const c = perClass.get(y) ?? { eligible: 0, successes: 0 };
      c.eligible++;
      c.successes += fooledMain[i]!;
      perClass.set(y, c);
    });
    const result: PhysicalReport = {
      format: 'gibbon-physical-report',
      version: 1,
      kind: 'uap',
      gibbonVersion: packageVersion(),
      model: values.model,
      data: data.source,
      seed: values.seed,
      saved,
      target: null,
      measure: 'fooling rate',
      values: { shape: [...set.shape], data: [...delta], eps: set.eps },
      conditions,
      epsSweep,
      perClass: [...perClass.entries()].sort((a, b) => a[0] - b[0]).map(([label, c]) => ({ label, ...c })),
      examples: {
        shape: [...data.shape],
        images: Array.from({ length: first }, (_, i) => [...perturbed.data.subarray(i * row, (i + 1) * row)]),
        labels: [...data.y.slice(0, first)],
        predicted: [...predicted],
      },
      transforms: { ...IDENTITY_RANGES, norm: set.norm.name, eps: set.eps },
      ...(training ? { training } : {}),
    };
    writePhysicalReport(values.out, result);
    return [
      ...conditions.map((c) => `${c.label}: fooling rate ${(100 * c.rate).toFixed(1)}% (${c.successes}/${c.eligible})`),
      `fooling rate against ε: ${epsSweep
        .map(
          (p) =>
            `ε=${p.eps.toFixed(3)} ${Object.values(p.rates)
              .map((r) => `${(100 * r).toFixed(1)}%`)
              .join(' / ')}`,
        )
        .join(', ')}`,
    ];
  } finally {
    for (const m of others) await m.dispose();
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
    const lines = await report(values, model, held, set, final.delta, manifest, { seconds, log });
    printResult(
      terminal,
      [
        `trained in ${seconds.toFixed(1)} s (fooling rate on the training data ${(100 * final.trainFooling).toFixed(1)}%); wrote ${manifest}`,
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
    const set = createUniversalSet(normByName(saved.manifest.universal!.norm), saved.manifest.universal!.eps, data.shape, { lower: 0, upper: 1 });
    const lines = await report(values, model, data, set, saved.values, saved.path);
    printResult(terminal, [`${saved.path} on ${data.n} inputs of ${data.source}:`], lines, values.out);
  });
}

export async function run(values: UapValues, terminal: Terminal): Promise<void> {
  return runAction('uap', values, terminal, { train, eval: evaluate });
}
