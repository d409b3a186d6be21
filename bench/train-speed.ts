/**
 * Training-step runners for the benchmark, on the trainer's own path (training/trainer.ts):
 *
 * - `train_step`: one `Trainable.trainStep` (train-mode forward, mean cross-entropy, every weight
 *   gradient) and one SGD step (momentum 0.9, torch semantics) on a batch.
 * - `train_step_fast_at`: the fast-AT step of Wong et al. 2020 (arXiv:2001.03994) as the trainer takes
 *   it: `pgdExamples` with one step of α = 1.25·ε from a uniform random start (ε 0.3 L∞, inputs in
 *   [0, 1]; one eval-mode input gradient), then the same training step on the adversarial batch.
 *
 * The PyTorch counterpart is bench/peer_train.py.
 */
import type { ModelIR } from '../src/onnx/model.js';
import { Rng } from '../src/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { pgdExamples, type AdversaryOptions } from '../src/training/methods.js';
import { createOptimizer } from '../src/training/optimizers.js';
import { Trainable } from '../src/training/trainable.js';

export const TRAIN_TASKS = ['train_step', 'train_step_fast_at'] as const;
export type TrainTask = (typeof TRAIN_TASKS)[number];

/** The fast-AT adversary of the benchmark: ε 0.3, one step of 1.25·ε (methods.ts defaults). */
export const FAST_AT: AdversaryOptions = Object.freeze({ norm: 'linf', eps: 0.3, steps: 1, stepSize: 0.375, bounds: Object.freeze({ lower: 0, upper: 1 }) });

/** Learning rate of the benchmark's SGD steps (speed does not depend on it). */
const LR = 0.01;

export interface TrainStepRunner {
  /** One step of `task` on the batch (x, y), updating the weights. */
  step(task: TrainTask, x: Tensor, y: Int32Array): Promise<void>;
  dispose(): Promise<void>;
}

export async function trainStepRunner(ir: ModelIR, threads: number, seed = 0): Promise<TrainStepRunner> {
  const model = await Trainable.create(ir, { threads });
  const optimizer = createOptimizer({ type: 'sgd', momentum: 0.9 });
  const rng = new Rng(seed);
  return {
    async step(task, x, y) {
      const n = x.shape[0]!;
      const input = task === 'train_step_fast_at' ? (await pgdExamples(model, x, y, FAST_AT, rng)).data : x.data;
      const { grads } = await model.trainStep(input, n, y, rng);
      optimizer.step(model.weights, grads, LR);
    },
    dispose: () => model.dispose(),
  };
}
