/**
 * Oracles: what an attacker may ask a model. The threat model is a type: an attack written for a
 * `DecisionOracle` sees only `predict`, one for a `ScoreOracle` only `scores`, and only a white-box
 * attack gets a `GradientOracle`. The factories wrap a model in a fresh object holding nothing but
 * those methods, so the restriction also holds at run time.
 *
 * Every oracle counts the examples it is asked about (`queries`; a batch of m rows counts m) and
 * can enforce a per-example query budget: a query that would take any example past the budget is
 * refused with a GibbonError 'budget_exhausted' before the model runs. Row i of a query is
 * example i of the oracle's batch unless the caller passes `rows` (e.g. DeepFool asks about one
 * example several times in one batch). `forExamples(indices)` gives a view for a sub-batch that
 * charges the same account, so a view can narrow a budget but never refresh it.
 *
 * Bounds (the input domain, default [0, 1]) are part of the contract: attacks and the harness
 * keep every adversarial example inside them.
 */
import { GibbonError } from '../errors.js';
import { checkOption, optional, positiveInteger } from '../options.js';
import type { LossName } from '../autodiff/loss-heads.js';
import { argmaxRows, type Tensor } from '../tensor/tensor.js';
import { checkBounds, UNIT_BOUNDS, type Bounds } from './bounds.js';

export type OracleKind = 'decision' | 'score' | 'gradient';

/** Labels as the models accept them. */
export type LabelArray = Int32Array | BigInt64Array | readonly number[];

/** What a gradient query returns. */
export interface LossAndGrad {
  /** Per-example loss (N). */
  readonly loss: Float32Array;
  /** d(Σ loss)/dx, shaped like x. */
  readonly grad: Tensor;
  readonly logits: Tensor;
}

/** A classifier that gives class scores before any Softmax. `OnnxModel` is one. */
export interface ClassifierModel {
  readonly numClasses: number;
  /** Input shape with the batch dimension first (null for dynamic dimensions). */
  readonly inputShape: readonly (number | null)[];
  /** True when the model gives labels only (its `logits` are one-hot rows): decision oracles only. */
  readonly decisionOnly?: boolean;
  logits(x: Tensor): Promise<Tensor>;
}

/** A classifier that also gives input gradients of a loss head. `OnnxModel` is one. */
export interface DifferentiableModel extends ClassifierModel {
  lossAndGrad(x: Tensor, labels: LabelArray, loss?: LossName, targets?: LabelArray): Promise<LossAndGrad>;
}

/** The harness re-checks attacks with this (uncounted) forward pass; attacks must not use it. */
export const HARNESS_SCORES: unique symbol = Symbol('gibbon.harnessScores');

interface OracleCommon {
  readonly kind: OracleKind;
  readonly bounds: Bounds;
  readonly numClasses: number;
  /** Shape of one example (no batch dimension). */
  readonly exampleShape: readonly (number | null)[];
  /** Examples queried so far through this oracle's account (all views share it). */
  readonly queries: number;
  /** Most queries allowed per example, if limited. */
  readonly queryBudget: number | undefined;
  /** Queries example `index` of this view may still make (Infinity without a budget). */
  remainingQueries(index: number): number;
  /** Class scores without charging the account (logits, or one-hot decisions for a decision oracle). */
  readonly [HARNESS_SCORES]: (x: Tensor) => Promise<Tensor>;
}

export interface DecisionOracle extends OracleCommon {
  readonly kind: 'decision';
  /** Predicted class per row. */
  predict(x: Tensor, rows?: ArrayLike<number>): Promise<Int32Array>;
  forExamples(indices: ArrayLike<number>): DecisionOracle;
}

export interface Scores {
  /** Softmax probabilities (N, C). */
  readonly probabilities: Tensor;
  /** Logits (N, C), when the model exposes them. */
  readonly logits: Tensor | undefined;
}

export interface ScoreOracle extends OracleCommon {
  readonly kind: 'score';
  scores(x: Tensor, rows?: ArrayLike<number>): Promise<Scores>;
  forExamples(indices: ArrayLike<number>): ScoreOracle;
}

export interface GradientOracle extends OracleCommon {
  readonly kind: 'gradient';
  /** Logits (N, C). */
  logits(x: Tensor, rows?: ArrayLike<number>): Promise<Tensor>;
  /**
   * Per-example loss, logits and the gradient of the summed loss with respect to x (each row is
   * that example's own gradient). Every loss head increases towards the attacker's goal.
   */
  lossAndGrad(x: Tensor, labels: LabelArray, loss: LossName, targets?: LabelArray, rows?: ArrayLike<number>): Promise<LossAndGrad>;
  forExamples(indices: ArrayLike<number>): GradientOracle;
}

export type Oracle = DecisionOracle | ScoreOracle | GradientOracle;

export interface OracleOptions {
  /** Input domain (default [0, 1]). */
  bounds?: Bounds;
  /** Most queries per example (default: unlimited). */
  queryBudget?: number;
}

/** Counts queries per example and refuses those beyond the budget. Shared by all views of an oracle. */
class QueryAccount {
  total = 0;
  private readonly counts: number[] = [];

  constructor(readonly budget: number | undefined) {}

  used(example: number): number {
    return this.counts[example] ?? 0;
  }

  charge(examples: ArrayLike<number>): void {
    if (this.budget !== undefined) {
      const asked = new Map<number, number>();
      for (let i = 0; i < examples.length; i++) asked.set(examples[i]!, (asked.get(examples[i]!) ?? 0) + 1);
      for (const [example, k] of asked) {
        if (this.used(example) + k > this.budget) {
          throw new GibbonError(
            'budget_exhausted',
            `example ${example} has used ${this.used(example)} of its ${this.budget} queries; this query needs ${k} more`,
            { option: 'queryBudget' },
          );
        }
      }
    }
    for (let i = 0; i < examples.length; i++) this.counts[examples[i]!] = this.used(examples[i]!) + 1;
    this.total += examples.length;
  }
}

/** Shared by the three oracle kinds: the model, the account, the row mapping and the model facts. */
class OracleBase<M extends ClassifierModel> {
  readonly numClasses: number;
  readonly exampleShape: readonly (number | null)[];

  constructor(
    protected readonly model: M,
    protected readonly account: QueryAccount,
    /** Example index in the account for each example of this view (undefined: identity). */
    protected readonly map: Int32Array | undefined,
    readonly bounds: Bounds,
  ) {
    this.numClasses = model.numClasses;
    this.exampleShape = model.inputShape.slice(1);
  }

  get queries(): number {
    return this.account.total;
  }

  get queryBudget(): number | undefined {
    return this.account.budget;
  }

  remainingQueries(index: number): number {
    if (this.account.budget === undefined) return Infinity;
    return Math.max(0, this.account.budget - this.account.used(this.resolve(index)));
  }

  protected resolve(index: number): number {
    if (!Number.isInteger(index) || index < 0 || (this.map && index >= this.map.length)) {
      throw new GibbonError('invalid_input', `query row refers to example ${index}, not in this oracle's batch of ${this.map?.length ?? '∞'}`, {
        option: 'rows',
      });
    }
    return this.map ? this.map[index]! : index;
  }

  /** Charges one query per row of x (rows[i] = the example row i asks about). */
  protected charge(x: Tensor, rows: ArrayLike<number> | undefined): void {
    const n = x.shape[0] ?? 0;
    if (rows && rows.length !== n) {
      throw new GibbonError('invalid_input', `rows has ${rows.length} entries but the query has ${n} examples`, { option: 'rows' });
    }
    const examples = new Int32Array(n);
    for (let i = 0; i < n; i++) examples[i] = this.resolve(rows ? rows[i]! : i);
    this.account.charge(examples);
  }

  protected narrowed(indices: ArrayLike<number>): Int32Array {
    const out = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) out[i] = this.resolve(indices[i]!);
    return out;
  }
}

/** Row-wise softmax of (N, C) logits, computed stably (max subtracted). */
export function softmaxRows(logits: Tensor): Tensor {
  const [n, c] = [logits.shape[0]!, logits.shape[1]!];
  const out = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, logits.data[i * c + j]!);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(logits.data[i * c + j]! - m);
    for (let j = 0; j < c; j++) out[i * c + j] = Math.exp(logits.data[i * c + j]! - m) / s;
  }
  return { data: out, shape: [n, c] };
}

function oneHot(labels: Int32Array, c: number): Tensor {
  const out = new Float32Array(labels.length * c);
  for (let i = 0; i < labels.length; i++) out[i * c + labels[i]!] = 1;
  return { data: out, shape: [labels.length, c] };
}

class ModelDecisionOracle extends OracleBase<ClassifierModel> implements DecisionOracle {
  readonly kind = 'decision' as const;

  async predict(x: Tensor, rows?: ArrayLike<number>): Promise<Int32Array> {
    this.charge(x, rows);
    return argmaxRows(await this.model.logits(x));
  }

  forExamples(indices: ArrayLike<number>): DecisionOracle {
    return new ModelDecisionOracle(this.model, this.account, this.narrowed(indices), this.bounds);
  }

  readonly [HARNESS_SCORES] = async (x: Tensor): Promise<Tensor> => oneHot(argmaxRows(await this.model.logits(x)), this.numClasses);
}

class ModelScoreOracle extends OracleBase<ClassifierModel> implements ScoreOracle {
  readonly kind = 'score' as const;

  async scores(x: Tensor, rows?: ArrayLike<number>): Promise<Scores> {
    this.charge(x, rows);
    const logits = await this.model.logits(x);
    return { probabilities: softmaxRows(logits), logits };
  }

  forExamples(indices: ArrayLike<number>): ScoreOracle {
    return new ModelScoreOracle(this.model, this.account, this.narrowed(indices), this.bounds);
  }

  readonly [HARNESS_SCORES] = (x: Tensor): Promise<Tensor> => this.model.logits(x);
}

class ModelGradientOracle extends OracleBase<DifferentiableModel> implements GradientOracle {
  readonly kind = 'gradient' as const;

  async logits(x: Tensor, rows?: ArrayLike<number>): Promise<Tensor> {
    this.charge(x, rows);
    return this.model.logits(x);
  }

  async lossAndGrad(x: Tensor, labels: LabelArray, loss: LossName, targets?: LabelArray, rows?: ArrayLike<number>): Promise<LossAndGrad> {
    this.charge(x, rows);
    return this.model.lossAndGrad(x, labels, loss, targets);
  }

  forExamples(indices: ArrayLike<number>): GradientOracle {
    return new ModelGradientOracle(this.model, this.account, this.narrowed(indices), this.bounds);
  }

  readonly [HARNESS_SCORES] = (x: Tensor): Promise<Tensor> => this.model.logits(x);
}

function account(options: OracleOptions): QueryAccount {
  const budget = options.queryBudget;
  checkOption('queryBudget', budget, optional(positiveInteger));
  return new QueryAccount(budget);
}

/** A decision-only view of a model: predicted labels, nothing else. */
export function decisionOracle(model: ClassifierModel, options: OracleOptions = {}): DecisionOracle {
  return new ModelDecisionOracle(model, account(options), undefined, checkBounds(options.bounds ?? UNIT_BOUNDS));
}

/** A score-based view of a model: probabilities (and logits). */
export function scoreOracle(model: ClassifierModel, options: OracleOptions = {}): ScoreOracle {
  if (model.decisionOnly) {
    throw new GibbonError('invalid_option', 'this model answers with labels only; it can back a decision oracle, not a score oracle', { option: 'knowledge' });
  }
  return new ModelScoreOracle(model, account(options), undefined, checkBounds(options.bounds ?? UNIT_BOUNDS));
}

/** A white-box view of a model: logits and input gradients of any loss head. */
export function gradientOracle(model: DifferentiableModel, options: OracleOptions = {}): GradientOracle {
  return new ModelGradientOracle(model, account(options), undefined, checkBounds(options.bounds ?? UNIT_BOUNDS));
}

/** Scores for the harness's re-check, not charged to the attacker (logits, or one-hot decisions). */
export function uncountedScores(oracle: Oracle, x: Tensor): Promise<Tensor> {
  return oracle[HARNESS_SCORES](x);
}
