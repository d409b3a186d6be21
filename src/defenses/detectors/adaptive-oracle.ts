/**
 * The adaptive attacker's white-box oracle on a detector-equipped model (equipped-model.ts), shaped
 * like a classifier's GradientOracle so that gibbon's gradient attacks and the attack harness
 * (attacks/attack.ts) run on it unchanged:
 * - a row of its "logits" is the C class scores followed by the detector score (C + 1 values), which
 *   criteria/undetected-misclassification.ts reads;
 * - its loss is the adaptive objective J = min(m, κ) − λ·max(0, (s − τ)/σ + δ) of equipped-model.ts,
 *   whose classification term is the C&W margin m: attacks ask for the loss family 'margin'
 *   (untargeted), and λ is fixed per oracle;
 * - optionally pinned cells: per example and feature an interval inside the ε-ball ∩ bounds. Every
 *   query is answered at x clamped into it, and gradient components that push a feature further out
 *   of its interval are zeroed, so the attack stays on the cell's face instead of drifting away.
 *   The adversarial example an attack finds on a pinned oracle is `clampToCells` of its answer.
 * Queries are counted per row; there is no query budget (white box). Row i of a query is example i
 * of the oracle's batch unless `rows` says otherwise, as for every oracle (model/oracles.ts).
 */
import type { LossName } from '../../autodiff/loss-heads.js';
import { GibbonError } from '../../errors.js';
import { checkBounds, UNIT_BOUNDS, type Bounds } from '../../model/bounds.js';
import { HARNESS_SCORES, type GradientOracle, type LabelArray } from '../../model/oracles.js';
import { WhiteBoxOracle } from '../../model/white-box-oracle.js';
import { rowSize } from '../../tensor/rows.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { AdaptiveObjective, EquippedModel } from './equipped-model.js';

/** Per example of the oracle's batch and per feature (row-major, n × features): the interval a query is clamped into. */
export interface PinnedCells {
  readonly lower: Float32Array;
  readonly upper: Float32Array;
}

export interface AdaptiveOracleOptions {
  readonly objective: AdaptiveObjective;
  /** Weight of the detector-evasion term. */
  readonly lambda: number;
  /** Input domain (default [0, 1]). */
  readonly bounds?: Bounds;
  readonly pinned?: PinnedCells;
  /**
   * Called with every point the oracle is asked about (clamped, when pinned), the batch example of
   * each row and the model's answer: the attacker's own record of what it has seen.
   */
  readonly observe?: (examples: Int32Array, points: Tensor, answer: { readonly logits: Tensor; readonly score: Float32Array }) => void;
}

type LossAndGradient = Awaited<ReturnType<GradientOracle['lossAndGrad']>>;

/** (N, C) class scores and N detector scores → (N, C + 1) rows. */
function withScore(logits: Tensor, score: Float32Array): Tensor {
  const [n, c] = [logits.shape[0]!, logits.shape[1]!];
  const out = new Float32Array(n * (c + 1));
  for (let i = 0; i < n; i++) {
    out.set(logits.data.subarray(i * c, (i + 1) * c), i * (c + 1));
    out[i * (c + 1) + c] = score[i]!;
  }
  return { data: out, shape: [n, c + 1] };
}

/** x with row i clamped into the cells of example examples[i]. */
export function clampToCells(x: Tensor, cells: PinnedCells, examples?: ArrayLike<number>): Tensor {
  const row = rowSize(x);
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < x.shape[0]!; i++) {
    const at = (examples ? examples[i]! : i) * row;
    for (let j = 0; j < row; j++) out[i * row + j] = Math.min(cells.upper[at + j]!, Math.max(cells.lower[at + j]!, x.data[i * row + j]!));
  }
  return { data: out, shape: [...x.shape] };
}

class AdaptiveOracle extends WhiteBoxOracle {
  constructor(
    private readonly model: EquippedModel,
    private readonly options: AdaptiveOracleOptions,
    bounds: Bounds,
    account: { total: number },
    /** Batch example of each example of this view (undefined: the whole batch). */
    private readonly map: Int32Array | undefined,
  ) {
    super(model, bounds, account);
  }

  /** The batch example each row of a query of n rows asks about. */
  private examples(n: number, rows?: ArrayLike<number>): Int32Array {
    if (rows && rows.length !== n)
      throw new GibbonError('invalid_input', `rows has ${rows.length} entries but the query has ${n} examples`, { option: 'rows' });
    return Int32Array.from({ length: n }, (_, i) => {
      const k = rows ? rows[i]! : i;
      if (this.map && !(k >= 0 && k < this.map.length)) {
        throw new GibbonError('invalid_input', `query row refers to example ${k}, not in this oracle's batch of ${this.map.length}`, { option: 'rows' });
      }
      return this.map ? this.map[k]! : k;
    });
  }

  /** The point the model is asked about: x itself, or x clamped into the pinned cells. */
  private query(x: Tensor, rows?: ArrayLike<number>): { point: Tensor; examples: Int32Array } {
    const examples = this.examples(x.shape[0]!, rows);
    this.account.total += examples.length;
    const pinned = this.options.pinned;
    return { point: pinned ? clampToCells(x, pinned, examples) : x, examples };
  }

  async logits(x: Tensor, rows?: ArrayLike<number>): Promise<Tensor> {
    const { point, examples } = this.query(x, rows);
    const r = await this.model.run(point);
    this.options.observe?.(examples, point, r);
    return withScore(r.logits, r.score);
  }

  async lossAndGrad(x: Tensor, labels: LabelArray, loss: LossName, targets?: LabelArray, rows?: ArrayLike<number>): Promise<LossAndGradient> {
    if (loss !== 'margin' || targets) {
      throw new GibbonError(
        'invalid_option',
        `the adaptive objective's classification term is the untargeted C&W margin; the attack asked for '${loss}'${targets ? ' with targets' : ''} (use loss 'margin')`,
        { option: 'loss' },
      );
    }
    const { point, examples } = this.query(x, rows);
    const y = Int32Array.from(labels as ArrayLike<number | bigint>, Number);
    const r = await this.model.objectiveAndGrad(point, y, new Float32Array(y.length).fill(this.options.lambda), this.options.objective);
    this.options.observe?.(examples, point, r);
    const pinned = this.options.pinned;
    if (pinned) {
      const row = rowSize(x);
      const g = r.grad.data;
      examples.forEach((e, i) => {
        for (let j = 0; j < row; j++) {
          const v = x.data[i * row + j]!;
          const outward = (v >= pinned.upper[e * row + j]! && g[i * row + j]! > 0) || (v <= pinned.lower[e * row + j]! && g[i * row + j]! < 0);
          if (outward) g[i * row + j] = 0;
        }
      });
    }
    return { loss: r.objective, grad: r.grad, logits: withScore(r.logits, r.score) };
  }

  forExamples(indices: ArrayLike<number>): GradientOracle {
    return new AdaptiveOracle(this.model, this.options, this.bounds, this.account, this.examples(indices.length, indices));
  }

  readonly [HARNESS_SCORES] = async (x: Tensor): Promise<Tensor> => {
    const pinned = this.options.pinned;
    const r = await this.model.run(pinned ? clampToCells(x, pinned, this.examples(x.shape[0]!)) : x);
    return withScore(r.logits, r.score);
  };
}

/** The adaptive attacker's oracle on `model` for one λ; pair it with undetectedMisclassification. */
export function adaptiveOracle(model: EquippedModel, options: AdaptiveOracleOptions): GradientOracle {
  if (!model.hasScore) throw new GibbonError('invalid_option', 'the adaptive oracle needs a model with a detector score', { option: 'detector' });
  if (!(options.lambda >= 0) || !Number.isFinite(options.lambda)) {
    throw new GibbonError('invalid_option', `λ must be a finite number ≥ 0; got ${options.lambda}`, { option: 'lambda' });
  }
  return new AdaptiveOracle(model, options, checkBounds(options.bounds ?? UNIT_BOUNDS), { total: 0 }, undefined);
}
