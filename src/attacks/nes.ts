/**
 * NES — a score-based black-box attack: projected gradient ascent on a gradient estimated by
 * natural evolution strategies (antithetic Gaussian sampling around the current point), so a model
 * that only returns scores can be attacked like a white box.
 *
 * Paper: Ilyas, Engstrom, Athalye & Lin, "Black-box Adversarial Attacks with Limited Queries and
 * Information", ICML 2018, https://arxiv.org/abs/1804.08598 (Algorithm 1, the query-limited
 * setting).
 *
 * Threat model: score-based black box (ScoreOracle); L∞ (sign steps, the paper's) or L2 (steps
 * along ĝ / ‖ĝ‖₂); untargeted or targeted (the criterion decides).
 *
 * Options (defaults from the paper's query-limited ImageNet setting, ε = 0.05):
 * - `samples` 50 — queries per gradient estimate n (n / 2 antithetic pairs).
 * - `sigma` 0.001 — search variance σ of the Gaussian directions.
 * - `relStepsize` 0.2 — step as a fraction of ε (the paper's learning rate 0.01 at ε = 0.05).
 * - `absStepsize` unset — an absolute step size; overrides `relStepsize`.
 * - `queries` 10000 — most queries per example (the paper's limit); the oracle's budget also binds.
 * - `steps` unset — most iterations (unset: until the queries run out).
 * - `randomStart` false — start at x (true: a uniform random point of the ε-ball).
 * - `loss` 'ce' — 'ce' (the paper's cross-entropy) or 'margin' (C&W), on the scores.
 *
 * One iteration costs `samples` + 1 queries per example (the estimate, then the new point).
 * Estimation and budget rules: gradient-estimation.ts.
 *
 * @example
 * ```ts
 * const nes = new NesAttack({ samples: 50, queries: 5000 });
 * const outcome = await runAttack(nes, scoreOracle(model, { queryBudget: 5000 }), x, labels, { eps: 0.3, norm: 'linf', seed: 0 });
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import type { ScoreOracle } from '../model/oracles.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { estimatedGradientAscent, evenSamples, normalizedStep, SCORE_LOSSES, type ScoreLoss } from './gradient-estimation.js';
import { boolean, oneOf, optional, positiveInteger, positiveNumber } from '../options.js';

export interface NesOptions {
  /** Queries per gradient estimate n (n / 2 antithetic pairs); even, ≥ 2. Default 50 (Ilyas et al. 2018). */
  readonly samples: number;
  /** Search variance σ of the Gaussian directions. Default 0.001 (Ilyas et al. 2018). */
  readonly sigma: number;
  /** Step as a fraction of ε. Default 0.2, the paper's learning rate 0.01 at ε = 0.05 (Ilyas et al. 2018). */
  readonly relStepsize: number;
  /** Absolute step size; overrides `relStepsize` when set. Default unset. */
  readonly absStepsize: number | undefined;
  /** Most queries per example; the oracle's budget also binds. Default 10000 (Ilyas et al. 2018, query-limited setting). */
  readonly queries: number;
  /** Most iterations. Default unset: until the queries run out. */
  readonly steps: number | undefined;
  /** Start at a uniform random point of the ε-ball (false: at x). Default false (Ilyas et al. 2018). */
  readonly randomStart: boolean;
  /** 'ce' (cross-entropy on the scores, the paper's) or 'margin' (C&W). Default 'ce' (Ilyas et al. 2018). */
  readonly loss: ScoreLoss;
}

export const NES_DEFAULTS: NesOptions = Object.freeze({
  samples: 50,
  sigma: 0.001,
  relStepsize: 0.2,
  absStepsize: undefined,
  queries: 10000,
  steps: undefined,
  randomStart: false,
  loss: 'ce',
});

export class NesAttack extends ConfiguredAttack<ScoreOracle, NesOptions> {
  constructor(options: Partial<NesOptions> = {}) {
    super({ name: 'nes', kind: 'fixed-epsilon', oracleKind: 'score', norms: ['linf', 'l2'], targeted: true }, NES_DEFAULTS, options, {
      samples: evenSamples,
      sigma: positiveNumber,
      relStepsize: positiveNumber,
      absStepsize: optional(positiveNumber),
      queries: positiveInteger,
      steps: optional(positiveInteger),
      randomStart: boolean,
      loss: oneOf(SCORE_LOSSES),
    });
  }

  run(oracle: ScoreOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const o = this.options;
    const alpha = o.absStepsize ?? o.relStepsize * ctx.eps;
    return estimatedGradientAscent(
      this.name,
      oracle,
      x,
      criterion,
      ctx,
      { samples: o.samples, scale: o.sigma, direction: 'gaussian', loss: o.loss, steps: o.steps, queries: o.queries, randomStart: o.randomStart },
      normalizedStep(ctx.norm, alpha),
    );
  }
}
