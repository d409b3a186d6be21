/** What `gibbon train` does the same for images and texts: output paths, the optimizer, the progress bar and per-epoch lines and log. */
import { writeFileAtomically } from '../../storage/atomic-write.js';
import type { ArchitectureName } from '../../training/architectures.js';
import type { MethodName } from '../../training/methods.js';
import type { OptimizerSpec } from '../../training/optimizers.js';
import type { TextArchitectureName } from '../../training/text-architectures.js';
import type { EpochRecord, TrainOptions } from '../../training/trainer.js';
import { checkOutputIsNotAnInput, checkWritableFile, lockOutputFileForRun } from '../files.js';
import { startProgress, type Progress } from '../progress.js';
import type { Terminal } from '../terminal.js';
import { existsSync } from 'node:fs';

/** The values of `gibbon train`'s options. */
export interface TrainValues {
  readonly arch?: ArchitectureName | TextArchitectureName;
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
  readonly maxLength?: number;
  readonly vocabSize?: number;
}

export interface TrainingOutputValues {
  readonly out: string;
  readonly model?: string;
  readonly data: string;
  readonly labels?: string;
  readonly resume?: boolean;
  readonly optimizer: 'sgd' | 'adam' | 'adamw';
  readonly momentum: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

export const plural = (k: number, word: string): string => `${k} ${word}${k === 1 ? '' : 's'}`;
export const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);

/** FILE.onnx → FILE + suffix (the checkpoint and log sit beside the model). */
export function companionPath(out: string, suffix: string): string {
  return `${out.replace(/\.onnx$/i, '')}${suffix}`;
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

export function optimizerSpec(v: TrainingOutputValues): OptimizerSpec {
  if (v.optimizer === 'sgd') return { type: 'sgd', momentum: v.momentum, nesterov: v.nesterov ?? false, weightDecay: v.weightDecay ?? 0 };
  return { type: v.optimizer, ...(v.weightDecay !== undefined ? { weightDecay: v.weightDecay } : {}) };
}

/** Checks and locks --out and its companions (checkpoint, log) before any work. */
export function prepareTrainingOutputs(v: TrainingOutputValues, terminal: Terminal): { checkpointPath: string; logPath: string } {
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
  return { checkpointPath, logPath };
}

/** The progress bar during an epoch, and after it one line and the whole log written to logPath. */
export function trainingProgress(
  terminal: Terminal,
  logPath: string,
  epochs: number,
): { callbacks: Pick<TrainOptions, 'onProgress' | 'onEpoch'>; stop: () => void } {
  let bar: Progress | undefined;
  let starting: Promise<void> | undefined;
  return {
    callbacks: {
      onProgress: (p) => {
        if (!starting) starting = startProgress(terminal, 'train', p.epochs * p.batches).then((b) => void (bar = b));
        bar?.update((p.epoch - 1) * p.batches + p.batch);
      },
      onEpoch: (r, history) => {
        bar?.stop();
        bar = undefined;
        starting = undefined;
        writeFileAtomically(logPath, `${history.map((h) => JSON.stringify(h)).join('\n')}\n`);
        terminal.out(epochLine(r, epochs));
      },
    },
    stop: () => bar?.stop(),
  };
}
