/** Targeted success: the top class is the chosen target class. */
import { GibbonError } from '../errors.js';
import { gatherValues } from '../tensor/rows.js';
import { toLabels, topClass, type Criterion } from './criterion.js';

class TargetedMisclassification implements Criterion {
  readonly name = 'targeted-misclassification';

  constructor(
    readonly labels: Int32Array,
    readonly targets: Int32Array,
  ) {}

  isAdversarial(scores: ArrayLike<number>, index: number): boolean {
    return topClass(scores) === this.targets[index];
  }

  subset(indices: ArrayLike<number>): Criterion {
    return new TargetedMisclassification(gatherValues(this.labels, indices), gatherValues(this.targets, indices));
  }
}

/** Success when the predicted class is `targets[i]`; each target must differ from its label. */
export function targetedMisclassification(labels: ArrayLike<number | bigint>, targets: ArrayLike<number | bigint>, numClasses?: number): Criterion {
  const y = toLabels(labels, 'labels', numClasses);
  const t = toLabels(targets, 'targets', numClasses);
  if (t.length !== y.length) {
    throw new GibbonError('invalid_input', `targets has ${t.length} entries but labels has ${y.length}`, { option: 'targets' });
  }
  for (let i = 0; i < y.length; i++) {
    if (t[i] === y[i])
      throw new GibbonError('invalid_input', `targets[${i}] = ${t[i]} equals the true label; a target must be another class`, { option: 'targets' });
  }
  return new TargetedMisclassification(y, t);
}
