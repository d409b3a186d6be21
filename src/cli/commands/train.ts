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
import { buildArchitecture, type ArchitectureName } from '../../training/architectures.js';
import { isTextArchitecture } from '../../training/text-architectures.js';
import { defaultAdversary } from '../../training/methods.js';
import { parseSchedule } from '../../training/schedules.js';
import { train, type Dataset } from '../../training/trainer.js';
import { companionPath, epochLine, optimizerSpec, plural, prepareTrainingOutputs, trainingProgress, type TrainValues } from './train-shared.js';

export { companionPath, epochLine };
import type { Terminal } from '../terminal.js';

export type { TrainValues };

/** Text data or a text architecture: the text trainer (train-text.ts). */
function isTextTraining(v: TrainValues): boolean {
  return v.data === 'spam-assassin' || /\.jsonl$/i.test(v.data) || (v.arch !== undefined && isTextArchitecture(v.arch));
}

function toDataset(d: LabelledData): Dataset {
  return { x: d.x, y: d.y, n: d.n, shape: d.shape, source: d.source };
}

export async function run(v: TrainValues, terminal: Terminal): Promise<void> {
  if (isTextTraining(v)) return (await import('./train-text.js')).runTextTraining(v, terminal);
  const schedule = parseSchedule(v.schedule);
  const { checkpointPath, logPath } = prepareTrainingOutputs(v, terminal);

  let source: ModelIR;
  if (v.model !== undefined) source = loadModel(v.model);
  else source = buildArchitecture(v.arch as ArchitectureName, { seed: v.seed });
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
  const progress = trainingProgress(terminal, logPath, v.epochs);
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
      ...progress.callbacks,
    });
    if (result.resumedFromEpoch > 0) terminal.note(`resumed after epoch ${result.resumedFromEpoch} from ${checkpointPath}`);
    saveModel(result.model, v.out);
    terminal.out(
      `wrote ${v.out} (${result.seconds.toFixed(0)} s of training over ${result.history.length} epochs); log ${logPath}; checkpoint ${checkpointPath}`,
    );
  } finally {
    progress.stop();
  }
}
