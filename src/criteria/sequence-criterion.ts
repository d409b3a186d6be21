/**
 * Success criteria for sequence recognisers (CTC, greedy decoding). The "scores" row of an example
 * is its per-frame class scores (T, C) flattened, as a sequence oracle gives them
 * (model/sequence-oracle.ts); the criterion decodes it and compares the label sequence with the
 * example's goal:
 * - untargeted: success when the decoded sequence differs from the clean transcription;
 * - targeted: success when it equals the chosen target sequence.
 * Labels (and targets) are indices into the criterion's tables of sequences, so subsets keep
 * pointing at the right example's goal.
 */
import { GibbonError } from '../errors.js';
import { ctcGreedyDecode, sameSequence } from '../model/sequence-decode.js';
import { gatherValues } from '../tensor/rows.js';
import type { Criterion } from './criterion.js';

export interface SequenceCriterionOptions {
  readonly frames: number;
  /** Classes per frame, blank included. */
  readonly classes: number;
  readonly blank: number;
  /** Clean transcription of each example. */
  readonly transcriptions: readonly (readonly number[])[];
  /** Target sequence of each example (targeted criterion); each must differ from its transcription. */
  readonly targets?: readonly (readonly number[])[];
}

class SequenceCriterion implements Criterion {
  readonly name: string;

  constructor(
    private readonly options: SequenceCriterionOptions,
    readonly labels: Int32Array,
  ) {
    this.name = options.targets ? 'targeted-sequence' : 'sequence-change';
  }

  get targets(): Int32Array | undefined {
    return this.options.targets ? this.labels : undefined;
  }

  isAdversarial(scores: ArrayLike<number>, index: number): boolean {
    const { frames, classes, blank } = this.options;
    if (scores.length !== frames * classes) {
      throw new GibbonError('internal', `sequence criterion given ${scores.length} scores; expected ${frames} frames × ${classes} classes`);
    }
    const decoded = ctcGreedyDecode(scores, frames, classes, blank);
    const example = this.labels[index]!;
    return this.options.targets ? sameSequence(decoded, this.options.targets[example]!) : !sameSequence(decoded, this.options.transcriptions[example]!);
  }

  subset(indices: ArrayLike<number>): Criterion {
    return new SequenceCriterion(this.options, gatherValues(this.labels, indices));
  }
}

/** A criterion for n examples whose labels (and targets) are 0 … n−1: each example's own goal. */
export function sequenceCriterion(options: SequenceCriterionOptions): Criterion {
  const n = options.transcriptions.length;
  if (options.targets) {
    if (options.targets.length !== n) {
      throw new GibbonError('invalid_input', `${options.targets.length} target sequences for ${n} examples`, { option: 'targets' });
    }
    options.targets.forEach((t, i) => {
      if (sameSequence(t, options.transcriptions[i]!)) {
        throw new GibbonError('invalid_input', `targets[${i}] equals the model's transcription of example ${i}; a target must be another sequence`, {
          option: 'targets',
        });
      }
    });
  }
  return new SequenceCriterion(
    options,
    Int32Array.from({ length: n }, (_, i) => i),
  );
}
