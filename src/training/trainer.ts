/**
 * The training loop: seeded shuffling, a method's batches (methods.ts), one forward/backward run
 * per step (training-graph.ts), gradient clipping, an optimizer and learning-rate schedule with
 * PyTorch semantics, BatchNorm running statistics, a held-out evaluation (clean and PGD accuracy)
 * after every epoch, and a checkpoint after every epoch. A resumed run continues from the last
 * finished epoch and, because each epoch's and batch's randomness is derived from (seed, epoch,
 * batch), draws exactly what an uninterrupted run would.
 *
 * A loss or weight that becomes NaN/∞ stops the run with a 'training_diverged' error; the last
 * checkpoint (the last good epoch) is left untouched.
 */
import { GibbonError } from '../errors.js';
import { checkOption, positiveFiniteNumber, positiveInteger } from '../options.js';
import type { Bounds } from '../model/bounds.js';
import type { NormName } from '../norms/norm.js';
import type { ModelIR } from '../onnx/model.js';
import { Rng } from '../random.js';
import { argmaxRows, type Tensor } from '../tensor/tensor.js';
import { fingerprintDifference, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { certifyIbp } from '../certify/ibp/certify.js';
import {
  checkAdversary,
  checkKappa,
  checkSigma,
  DEFAULT_KAPPA_FINAL,
  DEFAULT_SIGMA,
  gaussianExamples,
  ibpRampProgress,
  pgdExamples,
  tradesExamples,
  type AdversaryOptions,
  type MethodName,
} from './methods.js';
import { clipGradNorm, createOptimizer, type OptimizerSpec } from './optimizers.js';
import { learningRate, type ScheduleSpec } from './schedules.js';
import { Trainable } from './trainable.js';
import { checkData, type AugmentBatch, type Dataset } from './dataset.js';

export type { AugmentBatch, Dataset };
import { existsSync } from 'node:fs';

export interface TrainOptions {
  /** Training method: 'standard', 'pgd-at' (Madry et al. 2018), 'fast-at' (Wong et al. 2020), 'trades' (Zhang et al. 2019), 'gaussian' (Cohen et al. 2019) or 'ibp' (Gowal et al. 2018). Required. */
  method: MethodName;
  /** The adversary's norm. Default 'linf'. */
  norm?: NormName;
  /** The adversary's budget ε (methods other than standard and gaussian). Default 0. */
  eps?: number;
  /** Steps of the adversary's inner maximisation; must be set for pgd-at, fast-at and trades (`defaultAdversary(method, eps)` gives the papers' 40, 1, 40). Default 0. */
  steps?: number;
  /** Absolute step size of the adversary; must be set with `steps` (`defaultAdversary`: ε / 30 for pgd-at and trades, 1.25·ε for fast-at). Default 0. */
  stepSize?: number;
  /** Grow ε linearly from 0 over this many epochs (default 0: full ε from the start). */
  epsRampEpochs?: number;
  /** TRADES β (default 6, the paper's CIFAR-10 value; its MNIST runs used 1–6). */
  beta?: number;
  /** Standard deviation of the 'gaussian' method's noise (default 0.25). */
  sigma?: number;
  /** IBP's final weight κ of the clean loss (default 0.5); κ ramps from 1 over the ε-ramp epochs. */
  kappaFinal?: number;
  /** Passes over the training data; a positive integer. Required. */
  epochs: number;
  /** Examples per optimizer step. Default 128. */
  batchSize?: number;
  /** Base learning rate (> 0), scaled by `schedule`. Required. */
  lr: number;
  /** Optimizer and its settings ('sgd', 'adam', 'adamw'; optimizers.ts). Required. */
  optimizer: OptimizerSpec;
  /** Learning-rate schedule over the optimizer steps (schedules.ts). Default constant. */
  schedule?: ScheduleSpec;
  /** Clip the global gradient norm to this (torch.nn.utils.clip_grad_norm_). */
  clipGrad?: number;
  /** Parameters to train (default all). */
  params?: readonly string[];
  /** Seed of the shuffling, the adversary and the noise; a resumed run derives the same randomness. Default 0. */
  seed?: number;
  /** onnxruntime threads. Default: the number of cores. */
  threads?: number;
  /** The input domain. Default [0, 1]. */
  bounds?: Bounds;
  /** PGD steps of the held-out evaluation (default 10, step ε/4, random start). */
  evalSteps?: number;
  /** Where the checkpoint is written after every epoch. Default: no checkpoint. */
  checkpointPath?: string;
  /** Continue from the checkpoint at `checkpointPath` (it must belong to the same run). Default false. */
  resume?: boolean;
  /** Called after every batch with the epoch, batch and running loss. Default none. */
  onProgress?: (p: { epoch: number; epochs: number; batch: number; batches: number; loss: number }) => void;
  /**
   * Method 'standard': called before each step with the batch (example indices into the data, their
   * inputs and labels) and the model's current weights; the rows it returns are added to the batch
   * (e.g. adversarial copies, A2T-style text training). Its randomness must come from `rng`.
   */
  augmentBatch?: (batch: AugmentBatch) => Promise<{ x: Float32Array; y: Int32Array } | undefined>;
  /** After every epoch, with the whole history so far (resumed epochs included). */
  onEpoch?: (record: EpochRecord, history: readonly EpochRecord[]) => void;
}

export interface EpochRecord {
  epoch: number;
  method: MethodName;
  loss: number;
  /** Accuracy on the examples the steps were taken on (adversarial ones for adversarial methods). */
  train_accuracy: number;
  heldout_clean_accuracy: number | null;
  heldout_pgd_accuracy: number | null;
  /** Method 'ibp': IBP-certified accuracy of the held-out examples at the full ε (null without held-out data). */
  heldout_ibp_accuracy?: number | null;
  /** Method 'ibp': the epoch's weight of the clean loss. */
  kappa?: number;
  heldout_n: number;
  /** ε of the held-out PGD (the full budget). */
  heldout_eps: number;
  /** ε the epoch trained at (smaller during an ε ramp). */
  eps: number;
  lr: number;
  seconds: number;
  images_per_s: number;
}

export interface TrainResult {
  model: ModelIR;
  history: EpochRecord[];
  /** Seconds of training over all epochs (resumed runs included). */
  seconds: number;
  resumedFromEpoch: number;
}

interface CheckpointHeader {
  history: EpochRecord[];
  optimizer: { steps: number; spec: OptimizerSpec; buffers: string[] };
}

export async function train(source: ModelIR, data: Dataset, heldOut: Dataset | undefined, o: TrainOptions): Promise<TrainResult> {
  const seed = o.seed ?? 0;
  const batchSize = o.batchSize ?? 128;
  const norm = o.norm ?? 'linf';
  const eps = o.eps ?? 0;
  const bounds = o.bounds ?? { lower: 0, upper: 1 };
  const adversary: AdversaryOptions = { norm, eps, steps: o.steps ?? 0, stepSize: o.stepSize ?? 0, bounds };
  checkAdversary(o.method, adversary);
  checkOption('epochs', o.epochs, positiveInteger);
  checkOption('batchSize', batchSize, positiveInteger);
  checkOption('lr', o.lr, positiveFiniteNumber);
  if (data.n < 1) throw new GibbonError('invalid_input', `no training examples in ${data.source}`);
  const beta = o.beta ?? 6;
  const sigma = o.sigma ?? DEFAULT_SIGMA;
  if (o.method === 'gaussian') checkSigma(sigma);
  const kappaFinal = o.kappaFinal ?? DEFAULT_KAPPA_FINAL;
  if (o.method === 'ibp') checkKappa(kappaFinal);
  const schedule = o.schedule ?? { type: 'constant' };

  const model = await Trainable.create(source, {
    params: o.params,
    threads: o.threads,
    trades: o.method === 'trades',
    klAttack: o.method === 'trades',
    ibp: o.method === 'ibp',
  });
  try {
    checkData(model, data);
    if (heldOut) checkData(model, heldOut);
    const optimizer = createOptimizer(o.optimizer);
    const batches = Math.ceil(data.n / batchSize);
    const totalSteps = batches * o.epochs;
    const fingerprint = {
      model: weightsHash(model.snapshot()),
      params: model.paramNames.length,
      data: `${data.source} (${data.n})`,
      heldout: heldOut ? `${heldOut.source} (${heldOut.n})` : 'none',
      method: o.method,
      norm,
      eps,
      steps: adversary.steps,
      step_size: adversary.stepSize,
      eps_ramp_epochs: o.epsRampEpochs ?? 0,
      beta: o.method === 'trades' ? beta : null,
      ...(o.method === 'gaussian' ? { sigma } : {}),
      ...(o.method === 'ibp' ? { kappa_final: kappaFinal } : {}),
      epochs: o.epochs,
      batch_size: batchSize,
      lr: o.lr,
      optimizer: o.optimizer,
      schedule,
      clip_grad: o.clipGrad ?? null,
      seed,
    };

    let history: EpochRecord[] = [];
    let startEpoch = 0;
    if (o.resume && o.checkpointPath && existsSync(o.checkpointPath)) {
      const ck = readCheckpoint<CheckpointHeader>(o.checkpointPath);
      const diff = fingerprintDifference(ck.fingerprint, fingerprint);
      if (diff)
        throw new GibbonError('invalid_checkpoint', `${o.checkpointPath} belongs to a different training run (${diff}); remove it or drop option resume`, {
          path: o.checkpointPath,
        });
      model.restore(ck.tensors);
      const buffers: Record<string, Float32Array> = {};
      for (const name of ck.header.optimizer.buffers) buffers[name] = ck.tensors[`optimizer/${name}`]!;
      optimizer.load({ spec: ck.header.optimizer.spec, steps: ck.header.optimizer.steps, buffers });
      history = ck.header.history;
      startEpoch = ck.epoch;
    }

    const per = data.shape.reduce((a, c) => a * c, 1);
    for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
      const started = performance.now();
      const order = Rng.derive(seed, 'shuffle', epoch).permutation(data.n);
      const epochEps = o.epsRampEpochs ? eps * Math.min(1, (epoch + 1) / o.epsRampEpochs) : eps;
      const adv = { ...adversary, eps: epochEps, stepSize: adversary.stepSize * (eps > 0 ? epochEps / eps : 1) };
      const ibp = o.method === 'ibp';
      const kappaAt = (done: number): number => 1 - (1 - kappaFinal) * ibpRampProgress(done, o.epsRampEpochs ?? 0);
      const kappa = ibp ? kappaAt(epoch + 1) : undefined;
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lr = o.lr;
      for (let b = 0; b < batches; b++) {
        const idx = order.subarray(b * batchSize, Math.min(data.n, (b + 1) * batchSize));
        const n = idx.length;
        const x: Tensor = { data: new Float32Array(n * per), shape: [n, ...data.shape] };
        const y = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          x.data.set(data.x.subarray(idx[i]! * per, (idx[i]! + 1) * per), i * per);
          y[i] = data.y[idx[i]!]!;
        }
        const rng = Rng.derive(seed, 'batch', epoch, b);
        let rows = n;
        let input = x.data;
        let labels = y;
        switch (o.method) {
          case 'standard': {
            const extra = o.augmentBatch
              ? await o.augmentBatch({ epoch, batch: b, rows: idx, x: x.data, y, model: () => model.exportModel(), rng: rng.fork('augment') })
              : undefined;
            if (extra && extra.y.length > 0) {
              input = new Float32Array((n + extra.y.length) * per);
              input.set(x.data, 0);
              input.set(extra.x, n * per);
              labels = new Int32Array(n + extra.y.length);
              labels.set(y, 0);
              labels.set(extra.y, n);
              rows = labels.length;
            }
            break;
          }
          case 'pgd-at':
          case 'fast-at':
            input = (await pgdExamples(model, x, y, adv, rng)).data;
            break;
          case 'trades': {
            const xa = await tradesExamples(model, x, adv, rng);
            input = new Float32Array(2 * n * per);
            input.set(x.data, 0);
            input.set(xa.data, n * per);
            rows = 2 * n;
            break;
          }
          case 'gaussian':
            // A forked stream, so the noise does not shift the draws trainStep makes from rng.
            input = gaussianExamples(x, sigma, rng.fork('gaussian')).data;
            break;
          case 'ibp':
            break;
        }
        const done = epoch + (b + 1) / batches;
        const step = ibp
          ? await model.ibpStep(x.data, n, y, eps * ibpRampProgress(done, o.epsRampEpochs ?? 0), kappaAt(done), bounds)
          : await model.trainStep(input, rows, labels, rng, o.method === 'trades' ? beta : undefined);
        const globalStep = epoch * batches + b;
        if (!Number.isFinite(step.loss)) {
          throw new GibbonError(
            'training_diverged',
            `the loss became ${step.loss} at epoch ${epoch + 1}, step ${b + 1} (learning rate ${lr}); ` +
              kept(o.checkpointPath, epoch) +
              '; lower option lr or set option clipGrad',
          );
        }
        if (o.clipGrad !== undefined) clipGradNorm(step.grads, o.clipGrad);
        lr = learningRate(schedule, o.lr, globalStep, totalSteps);
        optimizer.step(model.weights, step.grads, lr);
        lossSum += step.loss * labels.length;
        seen += labels.length;
        const c = model.numClasses;
        // Accuracy of the rows the step saw: for TRADES, the adversarial half.
        const offset = o.method === 'trades' ? n * c : 0;
        correct += countCorrect(step.logits.subarray(offset, offset + labels.length * c), c, labels);
        o.onProgress?.({ epoch: epoch + 1, epochs: o.epochs, batch: b + 1, batches, loss: lossSum / seen });
      }
      for (const [name, w] of model.weights) {
        if (!w.every(Number.isFinite)) {
          throw new GibbonError(
            'training_diverged',
            `weights of '${name}' became non-finite in epoch ${epoch + 1}; ${kept(o.checkpointPath, epoch)}; lower option lr or set option clipGrad`,
          );
        }
      }
      const trainSeconds = (performance.now() - started) / 1000;
      const evaluation = heldOut
        ? await evaluateHeldOut(model, heldOut, { ...adversary, steps: o.evalSteps ?? 10, stepSize: eps / 4 }, batchSize, seed, epoch)
        : null;
      const ibpAccuracy = kappa !== undefined && heldOut ? await certifiedHeldOut(model, heldOut, eps, bounds, batchSize, o.threads) : null;
      const record: EpochRecord = {
        epoch: epoch + 1,
        method: o.method,
        loss: lossSum / seen,
        train_accuracy: correct / seen,
        heldout_clean_accuracy: evaluation?.clean ?? null,
        heldout_pgd_accuracy: evaluation?.pgd ?? null,
        ...(kappa !== undefined ? { heldout_ibp_accuracy: ibpAccuracy, kappa: round3(kappa) } : {}),
        heldout_n: heldOut?.n ?? 0,
        heldout_eps: eps,
        eps: round3(epochEps),
        lr,
        seconds: round3((performance.now() - started) / 1000),
        images_per_s: round3(data.n / trainSeconds),
      };
      history.push(record);
      if (o.checkpointPath) {
        const state = optimizer.state();
        const tensors: Record<string, Float32Array> = model.snapshot();
        for (const [k, v] of Object.entries(state.buffers)) tensors[`optimizer/${k}`] = v;
        writeCheckpoint<CheckpointHeader>(o.checkpointPath, {
          fingerprint,
          epoch: epoch + 1,
          header: { history, optimizer: { steps: state.steps, spec: state.spec, buffers: Object.keys(state.buffers) } },
          tensors,
        });
      }
      o.onEpoch?.(record, history);
    }
    return { model: model.exportModel(), history, seconds: round3(history.reduce((s, r) => s + r.seconds, 0)), resumedFromEpoch: startEpoch };
  } finally {
    await model.dispose();
  }
}

/** Clean and PGD accuracy of the eval-mode model on held-out data (PGD skipped when ε is 0). */
export async function evaluateHeldOut(
  model: Trainable,
  data: Dataset,
  adversary: AdversaryOptions,
  batchSize: number,
  seed: number,
  epoch: number,
): Promise<{ clean: number; pgd: number | null }> {
  const per = data.shape.reduce((a, c) => a * c, 1);
  const c = model.numClasses;
  let clean = 0;
  let robust = 0;
  for (let start = 0; start < data.n; start += batchSize) {
    const n = Math.min(batchSize, data.n - start);
    const x: Tensor = { data: data.x.subarray(start * per, (start + n) * per), shape: [n, ...data.shape] };
    const y = data.y.subarray(start, start + n);
    const count = (logits: Float32Array): number => countCorrect(logits, c, y);
    clean += count(await model.logits(x.data, n));
    if (adversary.eps > 0) {
      const adv = await pgdExamples(model, x, y, adversary, Rng.derive(seed, 'heldout', epoch, start));
      robust += count(await model.logits(adv.data, n));
    }
  }
  return { clean: clean / data.n, pgd: adversary.eps > 0 ? robust / data.n : null };
}

/** IBP-certified accuracy of the current weights on held-out data at ε (certify/ibp/certify.ts). */
async function certifiedHeldOut(model: Trainable, data: Dataset, eps: number, bounds: Bounds, batchSize: number, threads: number | undefined): Promise<number> {
  const x: Tensor = { data: data.x, shape: [data.n, ...data.shape] };
  const result = await certifyIbp(model.exportModel(), x, data.y, [eps], { batchSize, threads, domain: [bounds.lower, bounds.upper] });
  return result.certified[0]!.filter(Boolean).length / data.n;
}

/** What a diverged run leaves behind: the checkpoint of the last finished epoch, if there is one. */
function kept(checkpointPath: string | undefined, epochsDone: number): string {
  if (!checkpointPath) return 'no checkpoint was being written';
  if (epochsDone === 0) return 'no epoch had finished, so there is no checkpoint';
  return `the last good checkpoint (after epoch ${epochsDone}) is kept at ${checkpointPath}`;
}

/** FNV-1a over the bits of every value: identifies the starting weights in the fingerprint. */
function weightsHash(values: Record<string, Float32Array>): string {
  let h = 0x811c9dc5;
  for (const k of Object.keys(values).sort()) {
    for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
    const bits = new Uint32Array(values[k]!.buffer, values[k]!.byteOffset, values[k]!.length);
    for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i]!, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** How many rows of the (N, C) logits have their largest score at the label. */
function countCorrect(logits: Float32Array, classes: number, y: ArrayLike<number>): number {
  const predicted = argmaxRows({ data: logits, shape: [y.length, classes] });
  let k = 0;
  for (let i = 0; i < y.length; i++) if (predicted[i] === y[i]) k++;
  return k;
}
