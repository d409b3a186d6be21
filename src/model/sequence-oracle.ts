/**
 * A white-box oracle for a CTC sequence recogniser, shaped like a classifier's GradientOracle so
 * that gibbon's gradient attacks and harness (attacks/attack.ts) run on it unchanged:
 * - "logits" of an example are its per-frame scores (T, C) flattened to one row of T·C; a sequence
 *   criterion (criteria/sequence-criterion.ts) decodes them;
 * - "labels" and "targets" are example indices into the oracle's tables of sequences (the clean
 *   transcriptions and the targets), so the attack's sub-batches keep their goals;
 * - the loss family 'ce' is CTC, the sequence-level cross-entropy: 'ce' ascends +CTC of the clean
 *   transcription (changes the string), 'ce-targeted' ascends −CTC of the target (forces it).
 * Queries are counted per example row; there is no query budget (white box).
 */
import type { LossName } from '../autodiff/loss-heads.js';
import { GibbonError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkBounds, UNIT_BOUNDS, type Bounds } from './bounds.js';
import { HARNESS_SCORES, type GradientOracle, type LabelArray, type LossAndGrad } from './oracles.js';
import type { LabelSequences, SequenceOnnxModel } from './sequence-model.js';
import { WhiteBoxOracle } from './white-box-oracle.js';

export interface SequenceGoals {
  /** Clean transcription per example (the untargeted loss moves away from it). */
  readonly transcriptions: LabelSequences;
  /** Target sequence per example (targeted attacks). */
  readonly targets?: LabelSequences;
}

/** Flattens (N, T, C) scores to (N, T·C) rows. */
function rows(scores: Tensor): Tensor {
  return { data: scores.data, shape: [scores.shape[0]!, scores.shape[1]! * scores.shape[2]!] };
}

class SequenceGradientOracle extends WhiteBoxOracle {
  constructor(
    private readonly model: SequenceOnnxModel,
    private readonly goals: SequenceGoals,
    bounds: Bounds,
    account: { total: number },
  ) {
    super(model, bounds, account);
  }

  async logits(x: Tensor): Promise<Tensor> {
    this.account.total += x.shape[0]!;
    return rows(await this.model.scores(x));
  }

  private sequences(indices: LabelArray, table: LabelSequences | undefined, what: string): (readonly number[])[] {
    if (!table) throw new GibbonError('invalid_option', `this sequence oracle was made without ${what}`, { option: what });
    return Array.from(indices as ArrayLike<number | bigint>, (i) => {
      const seq = table[Number(i)];
      if (!seq) throw new GibbonError('invalid_input', `${what} index ${String(i)} is not an example of this oracle (0…${table.length - 1})`, { option: what });
      return seq;
    });
  }

  async lossAndGrad(x: Tensor, labels: LabelArray, loss: LossName, targets?: LabelArray): Promise<LossAndGrad> {
    if (loss !== 'ce' && loss !== 'ce-targeted') {
      throw new GibbonError('invalid_option', `sequence models have one loss family, 'ce' (CTC); '${loss}' needs class scores`, { option: 'loss' });
    }
    if ((loss === 'ce-targeted') !== (targets !== undefined)) {
      throw new GibbonError('invalid_option', `loss '${loss}' ${targets ? 'was given targets it does not use' : 'needs targets'}`, { option: 'targets' });
    }
    this.account.total += x.shape[0]!;
    const r = targets
      ? await this.model.lossAndGrad(x, this.sequences(targets, this.goals.targets, 'targets'), 'ctc-targeted')
      : await this.model.lossAndGrad(x, this.sequences(labels, this.goals.transcriptions, 'transcriptions'), 'ctc');
    return { loss: r.loss, grad: r.grad, logits: rows(r.scores) };
  }

  forExamples(): GradientOracle {
    // Labels carry the example indices, so a view needs no remapping; it shares the account.
    return new SequenceGradientOracle(this.model, this.goals, this.bounds, this.account);
  }

  readonly [HARNESS_SCORES] = async (x: Tensor): Promise<Tensor> => rows(await this.model.scores(x));
}

/** A white-box oracle for a sequence model and a batch's goals; pair it with sequenceCriterion. */
export function sequenceGradientOracle(model: SequenceOnnxModel, goals: SequenceGoals, options: { bounds?: Bounds } = {}): GradientOracle {
  return new SequenceGradientOracle(model, goals, checkBounds(options.bounds ?? UNIT_BOUNDS), { total: 0 });
}
