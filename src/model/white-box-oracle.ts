/**
 * The common part of white-box oracles that present a model of their own as a GradientOracle
 * (model/sequence-oracle.ts for CTC recognisers, defenses/detectors/adaptive-oracle.ts for
 * detector-equipped models): the model's facts, a count of the rows queried that all views share,
 * and no query budget.
 */
import type { LossName } from '../autodiff/loss-heads.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Bounds } from './bounds.js';
import { HARNESS_SCORES, type GradientOracle, type LabelArray } from './oracles.js';

/** What the oracle reports of its model. */
export interface ModelFacts {
  readonly numClasses: number;
  /** Input shape, batch first. */
  readonly inputShape: readonly (number | null)[];
}

export abstract class WhiteBoxOracle implements GradientOracle {
  readonly kind = 'gradient' as const;
  readonly queryBudget = undefined;

  constructor(
    private readonly facts: ModelFacts,
    readonly bounds: Bounds,
    /** Rows queried, shared by every view of the oracle. */
    protected readonly account: { total: number },
  ) {}

  get numClasses(): number {
    return this.facts.numClasses;
  }

  get exampleShape(): readonly (number | null)[] {
    return this.facts.inputShape.slice(1);
  }

  get queries(): number {
    return this.account.total;
  }

  remainingQueries(): number {
    return Infinity;
  }

  abstract logits(x: Tensor, rows?: ArrayLike<number>): Promise<Tensor>;
  abstract lossAndGrad(
    x: Tensor,
    labels: LabelArray,
    loss: LossName,
    targets?: LabelArray,
    rows?: ArrayLike<number>,
  ): ReturnType<GradientOracle['lossAndGrad']>;
  abstract forExamples(indices: ArrayLike<number>): GradientOracle;
  abstract readonly [HARNESS_SCORES]: (x: Tensor) => Promise<Tensor>;
}
