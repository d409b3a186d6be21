/** Training data, and its check against the model: example shape, finite values, labels that are classes of the model. */
import { GibbonError } from '../errors.js';
import type { ModelIR } from '../onnx/model.js';
import type { Rng } from '../random.js';

export interface Dataset {
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** Per-example shape (C, H, W …). */
  shape: readonly number[];
  /** Where it came from (for the fingerprint and the log). */
  source: string;
}

/** One training batch as TrainOptions.augmentBatch sees it. */
export interface AugmentBatch {
  readonly epoch: number;
  readonly batch: number;
  /** Indices of the batch's examples in the training data. */
  readonly rows: Int32Array;
  readonly x: Float32Array;
  readonly y: Int32Array;
  /** The model with the current weights (an inference model). */
  readonly model: () => ModelIR;
  readonly rng: Rng;
}

/** Throws, naming the data source and the first offending example, when the data do not fit the model. */
export function checkData(model: { readonly inputShape: readonly (number | null)[]; readonly numClasses: number }, data: Dataset): void {
  const expected = model.inputShape.slice(1);
  // (N, H, W) data read as (N, 1, H, W) images also fits a model that takes (N, H, W).
  const shape = data.shape.length === expected.length + 1 && data.shape[0] === 1 ? data.shape.slice(1) : data.shape;
  const ok = expected.length === shape.length && expected.every((d, i) => d === null || d === shape[i]);
  if (!ok) {
    throw new GibbonError(
      'invalid_input',
      `${data.source}: examples of shape [${data.shape.join(', ')}] do not fit the model's input [${expected.map((d) => d ?? '?').join(', ')}]`,
    );
  }
  const per = data.shape.reduce((a, c) => a * c, 1);
  for (let i = 0; i < data.x.length; i++) {
    const v = data.x[i]!;
    if (!Number.isFinite(v)) {
      throw new GibbonError(
        'invalid_input',
        `${data.source}: example ${Math.floor(i / per)} contains ${Number.isNaN(v) ? 'NaN' : v} (at value ${i % per}); training needs finite inputs`,
      );
    }
  }
  for (let i = 0; i < data.n; i++) {
    const label = data.y[i]!;
    if (!(label >= 0 && label < model.numClasses)) {
      throw new GibbonError(
        'invalid_input',
        `${data.source}: label ${label} of example ${i} does not fit the model's ${model.numClasses} classes (0–${model.numClasses - 1})`,
      );
    }
  }
}
