/**
 * Success against a classifier guarded by a detector: the top class is not the true label AND the
 * detector does not flag the input (its score is at most the threshold τ; it flags s > τ). The
 * scores row of an example is the classifier's C class scores followed by the detector's score, as
 * a detector-equipped oracle gives them (defenses/detectors/adaptive-oracle.ts).
 */
import { GibbonError } from '../errors.js';
import { gatherValues } from '../tensor/rows.js';
import { toLabels, topClass, type Criterion } from './criterion.js';

export interface DetectorThreshold {
  /** Classes of the classifier (the row has one more entry: the score). */
  readonly numClasses: number;
  /** The detector flags s > threshold. */
  readonly threshold: number;
}

class UndetectedMisclassification implements Criterion {
  readonly name = 'undetected-misclassification';
  readonly targets = undefined;

  constructor(
    readonly labels: Int32Array,
    private readonly detector: DetectorThreshold,
  ) {}

  isAdversarial(scores: ArrayLike<number>, index: number): boolean {
    const c = this.detector.numClasses;
    if (scores.length !== c + 1) {
      throw new GibbonError('internal', `undetected-misclassification needs ${c} class scores and the detector score per row; got ${scores.length} values`);
    }
    return scores[c]! <= this.detector.threshold && topClass(scores, c) !== this.labels[index];
  }

  subset(indices: ArrayLike<number>): Criterion {
    return new UndetectedMisclassification(gatherValues(this.labels, indices), this.detector);
  }
}

/** Success when example i is misclassified (top class ≠ labels[i]) and its detector score is ≤ threshold. */
export function undetectedMisclassification(labels: ArrayLike<number | bigint>, detector: DetectorThreshold): Criterion {
  if (!Number.isInteger(detector.numClasses) || detector.numClasses < 2 || !Number.isFinite(detector.threshold)) {
    throw new GibbonError(
      'invalid_option',
      `a detector criterion needs ≥ 2 classes and a finite threshold; got ${detector.numClasses} classes, τ = ${detector.threshold}`,
      {
        option: 'threshold',
      },
    );
  }
  return new UndetectedMisclassification(toLabels(labels, 'labels', detector.numClasses), detector);
}
