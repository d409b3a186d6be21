/**
 * EOT — Expectation over Transformation: against a randomised defense (random input transforms,
 * noise, a stochastic model), one gradient is one noisy sample of the gradient the attacker
 * needs, the gradient of the expected loss. `eotOracle` wraps a GradientOracle so that every call
 * averages the loss, the logits and the input gradient over `samples` independent passes; any
 * gradient attack (PGD, APGD, …) given the wrapped oracle becomes its EOT variant.
 *
 * Paper: Athalye, Engstrom, Ilyas & Kwok, "Synthesizing Robust Adversarial Examples", ICML 2018,
 * https://arxiv.org/abs/1707.07397 (and Athalye, Carlini & Wagner 2018, arXiv:1802.00420,
 * Section 4.2, for its use against randomised defenses).
 *
 * Each sample is a query: a call on m examples charges samples·m queries to the wrapped oracle's
 * account (and its budget). The samples of one call are evaluated as one tiled batch (in chunks),
 * so a model that draws its randomness per row gives independent samples.
 *
 * `randomizedModel` makes a randomised classifier from a differentiable one and a JS-side random
 * transform with its vector–Jacobian product (e.g. a random shift, whose VJP is the opposite
 * shift), for defenses that randomise their preprocessing outside the ONNX graph. Its randomness
 * comes from the seeded Rng it is given.
 *
 * @example
 * ```ts
 * const eot = eotOracle(gradientOracle(randomizedModel(model, randomShift, new Rng(0))), 10);
 * const outcome = await runAttack(new PgdAttack(), eot, x, labels, { eps: 0.3, norm: 'linf' });
 * ```
 */
import type { LossName } from '../autodiff/loss-heads.js';
import { GibbonError } from '../errors.js';
import { checkOption, positiveInteger } from '../options.js';
import type { Rng } from '../random.js';
import { rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import { HARNESS_SCORES, type DifferentiableModel, type GradientOracle, type LabelArray, type LossAndGrad } from './oracles.js';

/** Rows per call to the wrapped oracle (memory, not correctness). */
const MAX_TILED_ROWS = 2048;

function tileRows(x: Tensor, times: number): Tensor {
  const out = new Float32Array(x.data.length * times);
  for (let s = 0; s < times; s++) out.set(x.data, s * x.data.length);
  return { data: out, shape: [x.shape[0]! * times, ...x.shape.slice(1)] };
}

function tileValues(values: LabelArray, times: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < times; s++) for (let i = 0; i < values.length; i++) out.push(Number(values[i]));
  return out;
}

/** Adds `times` consecutive blocks of `part` (each shaped like `sum`) into `sum`. */
function accumulateBlocks(sum: Float32Array, part: Float32Array, times: number): void {
  const len = sum.length;
  for (let s = 0; s < times; s++) for (let j = 0; j < len; j++) sum[j]! += part[s * len + j]!;
}

class EotGradientOracle implements GradientOracle {
  readonly kind = 'gradient' as const;

  constructor(
    private readonly inner: GradientOracle,
    readonly samples: number,
  ) {}

  get bounds(): GradientOracle['bounds'] {
    return this.inner.bounds;
  }
  get numClasses(): number {
    return this.inner.numClasses;
  }
  get exampleShape(): GradientOracle['exampleShape'] {
    return this.inner.exampleShape;
  }
  get queries(): number {
    return this.inner.queries;
  }
  get queryBudget(): number | undefined {
    return this.inner.queryBudget;
  }
  remainingQueries(index: number): number {
    return this.inner.remainingQueries(index);
  }

  /** Samples evaluated per call to the wrapped oracle for a batch of m rows. */
  private perCall(m: number): number {
    return Math.max(1, Math.min(this.samples, Math.floor(MAX_TILED_ROWS / Math.max(1, m))));
  }

  private rowsFor(m: number, rows: ArrayLike<number> | undefined, times: number): number[] {
    return tileValues(rows ? Array.from(rows) : Array.from({ length: m }, (_, i) => i), times);
  }

  async logits(x: Tensor, rows?: ArrayLike<number>): Promise<Tensor> {
    const m = x.shape[0]!;
    const c = this.numClasses;
    const sum = new Float32Array(m * c);
    for (let done = 0; done < this.samples;) {
      const k = Math.min(this.perCall(m), this.samples - done);
      const z = await this.inner.logits(tileRows(x, k), this.rowsFor(m, rows, k));
      accumulateBlocks(sum, z.data, k);
      done += k;
    }
    for (let j = 0; j < sum.length; j++) sum[j]! /= this.samples;
    return { data: sum, shape: [m, c] };
  }

  async lossAndGrad(x: Tensor, labels: LabelArray, loss: LossName, targets?: LabelArray, rows?: ArrayLike<number>): Promise<LossAndGrad> {
    const m = x.shape[0]!;
    const c = this.numClasses;
    const lossSum = new Float32Array(m);
    const gradSum = new Float32Array(x.data.length);
    const logitSum = new Float32Array(m * c);
    for (let done = 0; done < this.samples;) {
      const k = Math.min(this.perCall(m), this.samples - done);
      const r = await this.inner.lossAndGrad(tileRows(x, k), tileValues(labels, k), loss, targets && tileValues(targets, k), this.rowsFor(m, rows, k));
      accumulateBlocks(lossSum, r.loss, k);
      accumulateBlocks(gradSum, r.grad.data, k);
      accumulateBlocks(logitSum, r.logits.data, k);
      done += k;
    }
    const inv = 1 / this.samples;
    for (const a of [lossSum, gradSum, logitSum]) for (let j = 0; j < a.length; j++) a[j]! *= inv;
    return { loss: lossSum, grad: { data: gradSum, shape: [...x.shape] }, logits: { data: logitSum, shape: [m, c] } };
  }

  forExamples(indices: ArrayLike<number>): GradientOracle {
    return new EotGradientOracle(this.inner.forExamples(indices), this.samples);
  }

  // The harness judges with one pass of the model, as the defense would answer one query.
  readonly [HARNESS_SCORES] = (x: Tensor): Promise<Tensor> => this.inner[HARNESS_SCORES](x);
}

/** A GradientOracle whose every answer is the mean over `samples` passes of `oracle` (EOT). */
export function eotOracle(oracle: GradientOracle, samples: number): GradientOracle {
  checkOption('eotSamples', samples, positiveInteger);
  return samples === 1 ? oracle : new EotGradientOracle(oracle, samples);
}

/** One draw of a random transform of a batch: the transformed batch and its vector–Jacobian product. */
export interface TransformSample {
  readonly x: Tensor;
  /** Maps the gradient with respect to the transformed batch to the gradient with respect to the original. */
  vjp(grad: Tensor): Tensor;
}

/** A random, differentiable input transform (draws per row from `rng`). */
export type RandomTransform = (x: Tensor, rng: Rng) => TransformSample;

/**
 * A classifier that applies a fresh random transform to its input on every call (a randomised
 * preprocessing defense), differentiable through the transform's VJP.
 */
export function randomizedModel(model: DifferentiableModel, transform: RandomTransform, rng: Rng): DifferentiableModel {
  return {
    numClasses: model.numClasses,
    inputShape: model.inputShape,
    logits: (x) => model.logits(transform(x, rng).x),
    lossAndGrad: async (x, labels, loss, targets) => {
      const t = transform(x, rng);
      const r = await model.lossAndGrad(t.x, labels, loss, targets);
      const grad = t.vjp(r.grad);
      if (rowSize(grad) !== rowSize(x) || grad.shape[0] !== x.shape[0]) {
        throw new GibbonError('internal', `the transform's vjp returned shape [${grad.shape.join(', ')}] for input [${x.shape.join(', ')}]`);
      }
      return { ...r, grad };
    },
  };
}
