/**
 * `gibbon eval [MODEL] --threat PHYSICAL.yaml [--data X.npy --labels Y.npy] [--n N] [--seed S] --out DIR`
 * for a `perturbation: patch|universal` threat model (evaluation/physical-threat-model.ts): loads
 * each saved patch or UAP it names, refuses one whose values' SHA-256 differs from the pinned one,
 * of the other kind, or made for another input size, and measures it on held-out data, on the
 * transfer models, under held-out transforms and print-and-scan (report.json, report.html).
 */
import { GibbonError } from '../../errors.js';
import { loadLabelledData, type LabelledData } from '../../data/datasets.js';
import { evaluatePatches, conditionLines, type NamedModel } from '../../evaluation/physical-runner.js';
import { isPhysicalThreatModelValue, validatePhysicalThreatModel, type PhysicalThreatModel } from '../../evaluation/physical-threat-model.js';
import { MNIST_TEST, readThreatModelValue } from '../../evaluation/threat-model.js';
import { evaluateUaps, uapLines } from '../../evaluation/uap-runner.js';
import type { OnnxModel } from '../../model/onnx-model.js';
import { checkFitsInput, loadPerturbation, type SavedPerturbation } from '../../physical/saved-perturbation.js';
import { checkTransformRanges } from '../../physical/transforms.js';
import { defaultModelPath, packageVersion } from '../package-root.js';
import { startProgress, type Progress } from '../progress.js';
import type { Terminal } from '../terminal.js';
import { writePhysicalReport } from '../physical-report.js';
import { imageShape, openModel, prepareOut, printResult } from '../physical-run.js';

export interface PhysicalEvalValues {
  readonly model?: string;
  readonly threat: string;
  readonly data?: string;
  readonly labels?: string;
  readonly n?: number;
  readonly seed?: number;
  readonly out: string;
  readonly threads?: number;
  /** Options of attack evaluations that a physical one refuses (it runs no attack). */
  readonly saveAdversarials?: unknown;
  readonly resume?: unknown;
  readonly failUnder?: unknown;
  readonly junit?: unknown;
  readonly bpda?: unknown;
  readonly eot?: unknown;
  readonly queue?: unknown;
  readonly workers?: unknown;
}

const NOT_APPLICABLE = [
  ['saveAdversarials', '--save-adversarials'],
  ['resume', '--resume'],
  ['failUnder', '--fail-under'],
  ['junit', '--junit'],
  ['bpda', '--bpda'],
  ['eot', '--eot'],
  ['queue', '--queue'],
  ['workers', '--workers'],
] as const;

/** The threat model of `path` when it is a physical one (undefined for any other file or preset). */
export function readPhysicalThreatModel(path: string): PhysicalThreatModel | undefined {
  const read = readThreatModelValue(path);
  return read && isPhysicalThreatModelValue(read.value) ? validatePhysicalThreatModel(read.value, path, read.baseDir) : undefined;
}

/** The saved perturbations the threat model pins, each checked: kind, SHA-256, input size. */
export function loadPinned(tm: PhysicalThreatModel, where: string, exampleShape: readonly number[]): SavedPerturbation[] {
  const kind = tm.perturbation === 'patch' ? 'patch' : 'uap';
  return tm.saved.map((entry) => {
    const saved = loadPerturbation(entry.manifest, `${entry.field}.manifest`);
    if (saved.manifest.kind !== kind) {
      throw new GibbonError('invalid_threat_model', `${entry.manifest} is a ${saved.manifest.kind}, but ${where} says perturbation: ${tm.perturbation}`, {
        path: entry.manifest,
        option: `${entry.field}.manifest`,
      });
    }
    if (saved.manifest.values.sha256 !== entry.sha256) {
      throw new GibbonError(
        'invalid_input',
        `${entry.manifest}: the saved values' SHA-256 is ${saved.manifest.values.sha256.slice(0, 12)}…, but ${where} pins ${entry.sha256.slice(0, 12)}… (${entry.field}.sha256): not the ${kind} the threat model names`,
        { path: entry.manifest, option: `${entry.field}.sha256` },
      );
    }
    checkFitsInput(saved, exampleShape, `${entry.field}.manifest`);
    return saved;
  });
}

function dataOf(tm: PhysicalThreatModel, values: PhysicalEvalValues): LabelledData {
  const limit = values.n ?? tm.n;
  if (values.data !== undefined && values.data !== MNIST_TEST) {
    if (!values.labels)
      throw new GibbonError('invalid_option', `--data ${values.data} is an .npy file: give its classes with --labels`, { option: '--labels' });
    return loadLabelledData({ x: values.data, y: values.labels, limit });
  }
  const source = values.data === MNIST_TEST ? MNIST_TEST : tm.data;
  return source === MNIST_TEST
    ? loadLabelledData({ name: 'mnist', split: 'test', limit: limit ?? 1000 })
    : loadLabelledData({ x: source.x, y: source.labels, limit });
}

export async function run(values: PhysicalEvalValues, terminal: Terminal): Promise<void> {
  const tm = readPhysicalThreatModel(values.threat);
  if (!tm)
    throw new GibbonError('invalid_threat_model', `${values.threat} is not a physical threat model (perturbation: patch or universal)`, {
      path: values.threat,
    });
  for (const [field, flag] of NOT_APPLICABLE) {
    if (values[field] !== undefined && values[field] !== false)
      throw new GibbonError(
        'invalid_option',
        `${flag} does not apply to ${values.threat} (perturbation: ${tm.perturbation} measures saved perturbations; it runs no attack)`,
        {
          option: flag,
        },
      );
  }
  const data = dataOf(tm, values);
  if (tm.perturbation === 'patch') imageShape(data, values.data !== undefined ? '--data' : 'data');
  const saved = loadPinned(tm, values.threat, data.shape);
  prepareOut(values.out);
  const seed = values.seed ?? tm.seed;
  const modelPath = values.model ?? defaultModelPath();
  const opened: OnnxModel[] = [];
  let bar: Progress | undefined;
  try {
    const models: NamedModel[] = [];
    for (const path of [modelPath, ...tm.transfer]) {
      opened.push(await openModel(path, data, values));
      models.push({ name: path, model: opened.at(-1)! });
    }
    let starting: Promise<void> | undefined;
    const onProgress = (done: number, total: number): void => {
      if (!starting) starting = startProgress(terminal, 'eval', total).then((b) => void (bar = b));
      bar?.update(done);
    };
    const common = {
      models,
      data,
      printScan: tm.printScan,
      seed,
      gibbonVersion: packageVersion(),
      threatModel: { path: values.threat, ...(tm.name ? { name: tm.name } : {}), pinned: tm.saved.map((s) => ({ manifest: s.manifest, sha256: s.sha256 })) },
      onProgress,
    };
    const report =
      tm.perturbation === 'patch'
        ? await evaluatePatches({
            ...common,
            patches: saved,
            ranges: (s) => checkTransformRanges({ ...s.manifest.transforms, ...tm.transforms }, 'transforms'),
            ...(tm.bestGrid ? { bestGrid: tm.bestGrid } : {}),
          })
        : await evaluateUaps({ ...common, uaps: saved });
    await starting;
    bar?.stop();
    writePhysicalReport(values.out, report);
    const lines = tm.perturbation === 'patch' ? conditionLines(report) : uapLines(report);
    if (report.perTarget)
      lines.push(`per target class: ${report.perTarget.map((t) => `${t.target ?? 'untargeted'} ${(100 * t.rate).toFixed(1)}%`).join(', ')}`);
    printResult(
      terminal,
      [
        `${tm.name ?? values.threat}: ${saved.length} saved ${tm.perturbation === 'patch' ? 'patch(es)' : 'UAP(s)'} on ${data.n} inputs of ${data.source}, model ${modelPath}:`,
      ],
      lines,
      values.out,
    );
  } finally {
    bar?.stop();
    for (const m of opened) await m.dispose();
  }
}
