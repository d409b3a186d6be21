/**
 * A success criterion says, from a model's class scores, whether an example is adversarial.
 * It is made for one batch: `isAdversarial(scores, index)` judges example `index` of that batch
 * from its row of scores. It also carries what an attack's loss needs (the true labels, and the
 * target classes of a targeted criterion). `subset` remaps it to a sub-batch, which is how the
 * harness hands an attack only the examples still worth attacking.
 */
import { GibbonError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

export interface Criterion {
  /** Short name for reports: 'misclassification', 'targeted-misclassification'. */
  readonly name: string;
  /** True class per example of the batch. */
  readonly labels: Int32Array;
  /** Target class per example (targeted criteria only). */
  readonly targets: Int32Array | undefined;
  /** Whether example `index` is adversarial given its row of scores (logits or probabilities). */
  isAdversarial(scores: ArrayLike<number>, index: number): boolean;
  /** The same criterion for the examples `indices` of this batch, renumbered 0…k−1. */
  subset(indices: ArrayLike<number>): Criterion;
}

/** Per-example verdicts (1 = adversarial) for a (N, C) tensor of scores. */
export function adversarialMask(criterion: Criterion, scores: Tensor): Uint8Array {
  const [n, c] = [scores.shape[0]!, scores.shape[1]!];
  if (scores.shape.length !== 2 || n !== criterion.labels.length) {
    throw new GibbonError('internal', `criterion for ${criterion.labels.length} examples given scores of shape [${scores.shape.join(', ')}]`);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = criterion.isAdversarial(scores.data.subarray(i * c, (i + 1) * c), i) ? 1 : 0;
  return out;
}

/** Index of the largest of the first `count` scores (default all; the first one on ties, like ArgMax). */
export function topClass(scores: ArrayLike<number>, count = scores.length): number {
  let best = 0;
  for (let j = 1; j < count; j++) if (scores[j]! > scores[best]!) best = j;
  return best;
}

/** Labels as an Int32Array, checked to be integers in [0, numClasses) when numClasses is given. */
export function toLabels(values: ArrayLike<number | bigint>, what: string, numClasses?: number): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      const valid = numClasses === undefined ? 'a non-negative integer' : `a class 0…${numClasses - 1}`;
      throw new GibbonError('invalid_input', `${what}[${i}] = ${String(values[i])} is not ${valid}`, { option: what });
    }
    out[i] = v;
  }
  return out;
}
