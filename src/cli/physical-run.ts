/**
 * What `gibbon patch` and `gibbon uap` share: the training split and the held-out split (a named
 * dataset's train and test splits, or a seeded hold-out of an .npy pair, never trained on), the
 * model, the output folder with its lock, and a one-record JSON checkpoint of the run's state that
 * `--resume` continues only when the run's fingerprint is the same.
 */
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { loadLabelledData, splitHeldOut, type LabelledData } from '../data/datasets.js';
import { OnnxModel } from '../model/onnx-model.js';
import { fingerprintDifference, readRecordCheckpoint, writeRecordCheckpoint, type RecordCheckpoint } from '../storage/checkpoint-file.js';
import { checkFitsInput, loadPerturbation, type SavedPerturbation } from '../physical/saved-perturbation.js';
import type { Tensor } from '../tensor/tensor.js';
import { UsageError } from './parse-args.js';
import { lockOutputFolderForRun, prepareOutputFolder } from './files.js';
import type { Terminal } from './terminal.js';

export interface PhysicalDataValues {
  readonly data: string;
  readonly labels?: string;
  readonly n: number;
  readonly evalN: number;
  readonly heldout: number;
  readonly seed: number;
}

/** The options of a run both commands have. */
export interface PhysicalRunValues extends PhysicalDataValues {
  readonly out: string;
  readonly resume?: boolean;
  readonly dpi: number;
  readonly printMm: number;
  readonly batchSize?: number;
  readonly threads?: number;
}

function npyPair(values: PhysicalDataValues): LabelledData {
  if (!values.labels) throw new GibbonError('invalid_option', `--data ${values.data} is an .npy file: give its classes with --labels`, { option: '--labels' });
  return loadLabelledData({ x: values.data, y: values.labels });
}

function named(values: PhysicalDataValues): 'mnist' | 'fashion-mnist' | undefined {
  return values.data === 'mnist' || values.data === 'fashion-mnist' ? values.data : undefined;
}

/** The examples a patch or UAP is trained on. */
export function trainingSplit(values: PhysicalDataValues): LabelledData {
  const name = named(values);
  if (name) return loadLabelledData({ name, split: 'train', limit: values.n });
  const all = npyPair(values);
  const { train } = splitHeldOut(all, Math.min(values.heldout, all.n - 1), values.seed);
  return firstOf(train, values.n);
}

/** The held-out examples it is measured on (never in trainingSplit). */
export function heldOutSplit(values: PhysicalDataValues): LabelledData {
  const name = named(values);
  if (name) return loadLabelledData({ name, split: 'test', limit: values.evalN });
  const all = npyPair(values);
  const { heldOut } = splitHeldOut(all, Math.min(values.heldout, all.n - 1), values.seed);
  return firstOf(heldOut, values.evalN);
}

/** The first n examples of d (all when it has fewer). */
function firstOf(d: LabelledData, n: number): LabelledData {
  if (n >= d.n) return d;
  const row = d.shape.reduce((a, b) => a * b, 1);
  return { ...d, x: d.x.slice(0, n * row), y: d.y.slice(0, n), n };
}

export function asTensor(d: LabelledData): Tensor {
  return { data: d.x, shape: [d.n, ...d.shape] };
}

/** Image shape (C, H, W) of the data; other shapes are refused (patches need images). */
export function imageShape(d: LabelledData, option: string): { channels: number; height: number; width: number } {
  if (d.shape.length !== 3) {
    throw new GibbonError('invalid_input', `${d.source} has examples of shape [${d.shape.join(', ')}]; patches and printing need images (C, H, W)`, { option });
  }
  const [channels, height, width] = d.shape as [number, number, number];
  return { channels, height, width };
}

export async function openModel(path: string, d: LabelledData, values: { threads?: number; batchSize?: number }): Promise<OnnxModel> {
  const model = await OnnxModel.load(path, {
    threads: values.threads,
    exampleShape: [...d.shape],
    exampleSource: { path: d.source, shape: [...d.shape], option: '--data' },
  });
  if (model.numClasses < 2) {
    await model.dispose();
    throw new GibbonError('invalid_model', `${path} gives ${model.numClasses} class score; patches and UAPs need a classifier`, { path });
  }
  return model;
}

/** Creates and locks the output folder. */
export function prepareOut(dir: string): void {
  prepareOutputFolder(dir, '--out');
  lockOutputFolderForRun(dir, '--out');
}

interface StateRecord {
  readonly index: 0;
  readonly state: Readonly<Record<string, unknown>>;
}

/** The state of a checkpointed run in `dir` when resuming (a fingerprint that differs is refused, naming what differs); undefined to start over. */
export function readRunState(
  dir: string,
  format: string,
  fingerprint: Readonly<Record<string, unknown>>,
  resume: boolean,
  terminal: Terminal,
): Readonly<Record<string, unknown>> | undefined {
  const path = join(dir, 'checkpoint.json');
  const file = readRecordCheckpoint<StateRecord, RecordCheckpoint<StateRecord>>(path, {
    run: format,
    format,
    version: 2,
    unit: 'record',
    hasFields: () => true,
    recordProblem: (r) =>
      r && typeof r === 'object' && (r as StateRecord).index === 0 && typeof (r as StateRecord).state === 'object' ? undefined : 'not a state record',
  });
  if (!file) return undefined;
  if (!resume) {
    terminal.note(`${path} exists; starting over (use --resume to continue it)`);
    return undefined;
  }
  const difference = fingerprintDifference(file.fingerprint, fingerprint);
  if (difference)
    throw new GibbonError('invalid_checkpoint', `${path} is from a different run (${difference}); use another --out or drop --resume`, {
      path,
      option: '--resume',
    });
  const record = file.records[0];
  if (!record) {
    terminal.note(`${path}: ${file.damaged?.join('; ') ?? 'no state'}; starting over`);
    return undefined;
  }
  return record.state;
}

export function writeRunState(dir: string, format: string, fingerprint: Readonly<Record<string, unknown>>, state: Readonly<Record<string, unknown>>): void {
  writeRecordCheckpoint(join(dir, 'checkpoint.json'), { format, version: 2, fingerprint, records: [{ index: 0, state }] }, 'the checkpoint');
}

/** A float array read back from a checkpoint: the right length, every value finite. */
export function floatsFrom(value: unknown, length: number, what: string, path: string): Float32Array {
  if (!Array.isArray(value) || value.length !== length || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new GibbonError('invalid_checkpoint', `${path}: ${what} must be ${length} finite numbers; delete it to start over`, { path });
  }
  return Float32Array.from(value as number[]);
}

/** The saved patch or UAP named by `option` ('--patch', '--uap'), refused when missing or of the other kind. */
export function loadSavedOf(path: string | undefined, kind: 'patch' | 'uap', option: string): SavedPerturbation {
  if (!path) throw new UsageError(`'${kind} eval' needs ${option} FILE (the ${kind}.json written by '${kind} train')`, kind);
  const saved = loadPerturbation(path, option);
  if (saved.manifest.kind !== kind || (kind === 'patch' ? !saved.manifest.patch : !saved.manifest.universal)) {
    const other = kind === 'patch' ? 'uap' : 'patch';
    throw new GibbonError('invalid_input', `${path} is a ${saved.manifest.kind}, not a ${kind === 'uap' ? 'UAP' : 'patch'}; use 'gibbon ${other} eval'`, {
      path,
      option,
    });
  }
  return saved;
}

/** Prints a run's result: the heading lines, the measured lines indented, where the report is. */
export function printResult(terminal: Terminal, heading: readonly string[], lines: readonly string[], out: string): void {
  terminal.out([...heading, ...lines.map((l) => `  ${l}`), `report: ${join(out, 'report.html')}`].join('\n'));
}

/** Runs `fn` with the model open, and closes it whatever happens. */
export async function withModel<T>(path: string, d: LabelledData, values: { threads?: number }, fn: (model: OnnxModel) => Promise<T>): Promise<T> {
  const model = await openModel(path, d, values);
  try {
    return await fn(model);
  } finally {
    await model.dispose();
  }
}

/** Runs the command's ACTION ('train' or 'eval'). */
export function runAction<V extends { readonly action: string }>(
  kind: 'patch' | 'uap',
  values: V,
  terminal: Terminal,
  actions: Readonly<Record<'train' | 'eval', (values: V, terminal: Terminal) => Promise<void>>>,
): Promise<void> {
  const action = actions[values.action as 'train' | 'eval'];
  if (values.action !== 'train' && values.action !== 'eval') {
    const example = kind === 'patch' ? '--target 3' : '--eps 0.3';
    throw new UsageError(
      `unknown action '${values.action}'; give 'train' or 'eval' (gibbon ${kind} train MODEL ${example}, gibbon ${kind} eval MODEL --${kind} ${kind}.json)`,
      kind,
    );
  }
  return action(values, terminal);
}

/** The saved patch or UAP of an 'eval' run, the held-out data it is measured on (checked to fit), and the output folder made ready. */
export function openSaved(values: PhysicalRunValues, path: string | undefined, kind: 'patch' | 'uap'): { saved: SavedPerturbation; data: LabelledData } {
  const saved = loadSavedOf(path, kind, `--${kind}`);
  prepareOut(values.out);
  const data = heldOutSplit(values);
  checkFitsInput(saved, data.shape, `--${kind}`);
  return { saved, data };
}
