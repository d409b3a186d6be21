/**
 * FunctionModel: a classifier that is any JavaScript function from a batch of inputs to class
 * scores — a model in another runtime (TensorFlow.js, a WebAssembly build, a worker, a client of
 * some service), made a `ClassifierModel` so that the oracles can count and limit its queries.
 *
 * The function gets x (N, …inputShape) and returns the scores as a flat Float32Array of N·C values
 * (row-major) or as N rows of C numbers. Every answer is checked: N rows of `numClasses` finite
 * scores. With `outputs: 'probabilities'`, `logits()` gives log-probabilities (their softmax is
 * what the function said); with 'logits' (the default) the scores as they are.
 *
 * @example
 * const model = new FunctionModel(async (x) => tfModel.predict(toTf(x)).data() as Promise<Float32Array>, {
 *   inputShape: [null, 1, 28, 28],
 *   numClasses: 10,
 * });
 * const oracle = scoreOracle(model, { queryBudget: 1000 });
 */
import { GibbonError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierModel } from '../oracles.js';
import { scoreRows, toLogits } from './class-scores.js';
import { checkExamples } from '../check-examples.js';
import { checkInputShape } from './input-shape.js';

/** What the user's function computes: class scores for a batch. */
export type ScoreFunction = (x: Tensor) => Promise<Float32Array | number[][]> | Float32Array | number[][];

export interface FunctionModelOptions {
  /** Input shape with the batch dimension first, e.g. [null, 1, 28, 28]. */
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  /** What the function returns (default 'logits'). */
  readonly outputs?: 'logits' | 'probabilities';
}

export class FunctionModel implements ClassifierModel {
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  readonly outputs: 'logits' | 'probabilities';
  readonly #fn: ScoreFunction;

  constructor(fn: ScoreFunction, options: FunctionModelOptions) {
    if (typeof fn !== 'function') throw new GibbonError('invalid_option', `FunctionModel needs a function (x) => scores; got ${typeof fn}`, { option: 'fn' });
    this.inputShape = checkInputShape(options.inputShape, 'inputShape');
    if (!Number.isInteger(options.numClasses) || options.numClasses < 2) {
      throw new GibbonError('invalid_option', `numClasses must be an integer ≥ 2; got ${options.numClasses}`, { option: 'numClasses' });
    }
    this.numClasses = options.numClasses;
    const outputs = options.outputs ?? 'logits';
    if (outputs !== 'logits' && outputs !== 'probabilities') {
      throw new GibbonError('invalid_option', `outputs must be 'logits' or 'probabilities'; got ${String(outputs)}`, { option: 'outputs' });
    }
    this.outputs = outputs;
    this.#fn = fn;
  }

  async logits(x: Tensor): Promise<Tensor> {
    checkExamples(x, this.inputShape, 'x');
    const n = x.shape[0]!;
    // The function gets its own copy, so it cannot change the caller's inputs.
    const answer = await this.#fn({ data: x.data.slice(), shape: [...x.shape] });
    const fail = (message: string): GibbonError =>
      new GibbonError('invalid_model', `the model function's answer for ${n} example(s) of shape [${x.shape.slice(1).join(', ')}]: ${message}`, {
        option: 'fn',
      });
    const { data } = scoreRows(answer, n, this.numClasses, fail);
    return toLogits(data, n, this.numClasses, this.outputs, fail);
  }
}
