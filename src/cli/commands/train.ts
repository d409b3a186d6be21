/**
 * `gibbon train (--arch NAME | --model FILE) --data mnist|fashion-mnist|X.npy [--labels Y.npy]
 * --method standard|pgd-at|trades|fast-at|gaussian|ibp --eps … --sigma … --kappa-final … --epochs … --out model.onnx [--resume]`:
 * trains with training/trainer.ts, shows a progress bar, prints one line per epoch, writes the
 * per-epoch log as JSON lines (FILE.log.jsonl), a checkpoint after every epoch (FILE.ckpt) and,
 * at the end, the trained inference model.
 */
import { GibbonError } from '../../errors.js';
import { loadLabelledData, splitHeldOut, type LabelledData } from '../../data/datasets.js';
import { loadModel, saveModel, type ModelIR } from '../../onnx/model.js';
import { writeFileAtomically } from '../../storage/atomic-write.js';
import { buildArchitecture, type ArchitectureName } from '../../training/architectures.js';
import { defaultAdversary, type MethodName } from '../../training/methods.js';
import type { OptimizerSpec } from '../../training/optimizers.js';
import { parseSchedule } from '../../training/schedules.js';
import { train, type Dataset, type EpochRecord } from '../../training/trainer.js';
import { checkOutputIsNotAnInput, checkWritableFile, lockOutputFileForRun } from '../files.js';
import { startProgress, type Progress } from '../progress.js';
import type { Terminal } from '../terminal.js';
import { existsSync } from 'node:fs';

export interface TrainValues {
  readonly arch?: ArchitectureName;
  readonly model?: string;
  readonly params?: string;
  readonly data: string;
  readonly labels?: string;
  readonly n?: number;
  readonly heldout: number;
  readonly method: MethodName;
  readonly norm: 'linf' | 'l2';
  readonly eps: number;
  readonly steps?: number;
  readonly stepSize?: number;
  readonly epsRamp?: number;
  readonly beta: number;
  readonly sigma: number;
  readonly kappaFinal: number;
  readonly epochs: number;
  readonly batchSize?: number;
  readonly optimizer: 'sgd' | 'adam' | 'adamw';
  readonly lr?: number;
  readonly momentum: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
  readonly schedule: string;
  readonly clipGrad?: number;
  readonly evalSteps: number;
  readonly out: string;
  readonly resume?: boolean;
  readonly seed: number;
  readonly threads?: number;
}

const plural = (k: number, word: string): string => `${k} ${word}${k === 1 ? '' : 's'}`;
const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);

/** FILE.onnx → FILE + suffix (the checkpoint and log sit beside the model). */
export function companionPath(out: string, suffix: string): string {
  return `${out.replace(/\.onnx$/i, '')}${suffix}`;
}

function optimizerSpec(v: TrainValues): OptimizerSpec {
  if (v.optimizer === 'sgd') return { type: 'sgd', momentum: v.momentum, nesterov: v.nesterov ?? false, weightDecay: v.weightDecay ?? 0 };
  return { type: v.optimizer, ...(v.weightDecay !== undefined ? { weightDecay: v.weightDecay } : {}) };
}

function toDataset(d: LabelledData): Dataset {
  return { x: d.x, y: d.y, n: d.n, shape: d.shape, source: d.source };
}

export function epochLine(r: EpochRecord, epochs: number): string {
  const robust = r.heldout_pgd_accuracy !== null ? `, PGD ${pct(r.heldout_pgd_accuracy)} at ε ${r.heldout_eps}` : '';
  const ramp =
    (r.eps !== r.heldout_eps && r.method !== 'standard' ? ` · trained at ε ${r.eps}` : '') +
    (r.kappa !== undefined && r.kappa !== null ? ` · κ ${r.kappa}` : '');
  const certified = r.heldout_ibp_accuracy !== undefined && r.heldout_ibp_accuracy !== null ? `, IBP-certified ${pct(r.heldout_ibp_accuracy)}` : '';
  const held = r.heldout_n > 0 ? ` · held-out ${r.heldout_n}: clean ${pct(r.heldout_clean_accuracy)}${robust}${certified}` : '';
  return `epoch ${r.epoch}/${epochs} · loss ${r.loss.toFixed(4)} · train acc ${pct(r.train_accuracy)}${ramp}${held} · ${r.seconds.toFixed(1)} s (${Math.round(r.images_per_s)} img/s)`;
}

export async function run(v: TrainValues, terminal: Terminal): Promise<void> {
  const schedule = parseSchedule(v.schedule);
  checkWritableFile(v.out, '--out');
  lockOutputFileForRun(v.out, '--out');
  const checkpointPath = companionPath(v.out, '.ckpt');
  const logPath = companionPath(v.out, '.log.jsonl');
  checkWritableFile(logPath, '--out');
  const trainInputs = [
    { path: v.model, option: '--model' },
    { path: v.data, option: '--data' },
    { path: v.labels, option: '--labels' },
  ];
  for (const path of [v.out, checkpointPath, logPath]) checkOutputIsNotAnInput({ path, option: '--out' }, trainInputs);
  if (!v.resume && existsSync(checkpointPath)) {
    terminal.note(`note: ${checkpointPath} exists from an earlier run; it will be overwritten (use --resume to continue it)`);
  }

  let source: ModelIR;
  if (v.model !== undefined) source = loadModel(v.model);
  else source = buildArchitecture(v.arch!, { seed: v.seed });
  const label = v.model ?? `--arch ${v.arch}`;

  const named = v.data === 'mnist' || v.data === 'fashion-mnist';
  const all = named
    ? loadLabelledData({ name: v.data as 'mnist' | 'fashion-mnist', split: 'train', limit: v.n !== undefined ? v.n + v.heldout : undefined })
    : loadLabelledData({ x: v.data, y: v.labels!, limit: v.n !== undefined ? v.n + v.heldout : undefined });
  if (v.heldout >= all.n)
    throw new GibbonError('invalid_option', `--heldout ${v.heldout} leaves no training examples out of ${all.n} in ${all.source}`, { option: 'heldout' });
  const { train: trainPart, heldOut } = splitHeldOut(all, v.heldout, v.seed);
  const batchSize = v.batchSize ?? 128;
  const batches = Math.ceil(trainPart.n / batchSize);
  const adversary = defaultAdversary(v.method, v.eps);
  const scheduleSteps = schedule.type === 'step' ? { ...schedule, stepSize: schedule.stepSize * batches } : schedule;

  terminal.note(
    `training ${label} on ${trainPart.n} examples of ${all.source} (${v.heldout} held out) · ${v.method}` +
      (v.method === 'standard'
        ? ''
        : v.method === 'gaussian'
          ? ` σ ${v.sigma}`
          : v.method === 'ibp'
            ? ` L∞ ε ${v.eps}, κ → ${v.kappaFinal}`
            : ` ${v.norm === 'linf' ? 'L∞' : 'L2'} ε ${v.eps}, ${plural(v.steps ?? adversary.steps, 'step')} of ${v.stepSize ?? adversary.stepSize}`) +
      ` · ${v.epochs} epochs of ${batches} steps · ${v.optimizer} lr ${v.lr ?? (v.optimizer === 'sgd' ? 0.01 : 1e-3)} ${v.schedule}`,
  );
  let bar: Progress | undefined;
  let starting: Promise<void> | undefined;
  try {
    const result = await train(source, toDataset(trainPart), v.heldout > 0 ? toDataset(heldOut) : undefined, {
      method: v.method,
      norm: v.norm,
      eps: (v.method === 'standard' || v.method === 'gaussian') && v.heldout === 0 ? 0 : v.eps,
      steps: v.steps ?? adversary.steps,
      stepSize: v.stepSize ?? adversary.stepSize,
      epsRampEpochs: v.epsRamp,
      beta: v.beta,
      sigma: v.sigma,
      kappaFinal: v.kappaFinal,
      epochs: v.epochs,
      batchSize,
      lr: v.lr ?? (v.optimizer === 'sgd' ? 0.01 : 1e-3),
      optimizer: optimizerSpec(v),
      schedule: scheduleSteps,
      clipGrad: v.clipGrad,
      params: v.params
        ?.split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
      seed: v.seed,
      threads: v.threads,
      evalSteps: v.evalSteps,
      checkpointPath,
      resume: v.resume,
      onProgress: (p) => {
        if (!starting) starting = startProgress(terminal, 'train', p.epochs * p.batches).then((b) => void (bar = b));
        bar?.update((p.epoch - 1) * p.batches + p.batch);
      },
      onEpoch: (r, history) => {
        bar?.stop();
        bar = undefined;
        starting = undefined;
        writeFileAtomically(logPath, `${history.map((h) => JSON.stringify(h)).join('\n')}\n`);
        terminal.out(epochLine(r, v.epochs));
      },
    });
    if (result.resumedFromEpoch > 0) terminal.note(`resumed after epoch ${result.resumedFromEpoch} from ${checkpointPath}`);
    saveModel(result.model, v.out);
    terminal.out(
      `wrote ${v.out} (${result.seconds.toFixed(0)} s of training over ${result.history.length} epochs); log ${logPath}; checkpoint ${checkpointPath}`,
    );
  } finally {
    bar?.stop();
  }
}
