/** Untargeted success: the top class is not the true label. */
import { gatherValues } from '../tensor/rows.js';
import { toLabels, topClass, type Criterion } from './criterion.js';

class Misclassification implements Criterion {
  readonly name = 'misclassification';
  readonly targets = undefined;

  constructor(readonly labels: Int32Array) {}

  isAdversarial(scores: ArrayLike<number>, index: number): boolean {
    return topClass(scores) !== this.labels[index];
  }

  subset(indices: ArrayLike<number>): Criterion {
    return new Misclassification(gatherValues(this.labels, indices));
  }
}

/** Success when the predicted class differs from `labels[i]`. */
export function misclassification(labels: ArrayLike<number | bigint>, numClasses?: number): Criterion {
  return new Misclassification(toLabels(labels, 'labels', numClasses));
}
