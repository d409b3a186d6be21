/**
 * SPSA — a score-based black-box attack: simultaneous-perturbation stochastic approximation of the
 * loss gradient (Rademacher ±1 directions, antithetic pairs) fed to Adam, with a projection onto
 * the ε-ball after every step. Uesato et al. use it to check that a defense's robustness is not an
 * artefact of gradient masking: it needs no gradients, only scores.
 *
 * Paper: Uesato, O'Donoghue, van den Oord & Kohli, "Adversarial Risk and the Dangers of Evaluating
 * Against Weak Attacks", ICML 2018, https://arxiv.org/abs/1802.05666 (Algorithm 1).
 *
 * Threat model: score-based black box (ScoreOracle); L∞ (the paper's) or L2; untargeted or
 * targeted (the criterion decides).
 *
 * Options (δ and the Adam learning rate from the paper; samples per step from the authors'
 * CleverHans implementation):
 * - `delta` 0.01 — perturbation size δ of the finite differences.
 * - `learningRate` 0.01 — Adam's step size (absolute, per input feature); with `update: 'sign'` the
 *   size of each sign (L∞) or normalised (L2) step.
 * - `samples` 128 — queries per gradient estimate (samples / 2 antithetic pairs).
 * - `steps` 100 — most iterations.
 * - `queries` 20000 — most queries per example; the oracle's budget also binds.
 * - `update` 'adam' — 'adam' (β₁ 0.9, β₂ 0.999, the paper's) or 'sign' (PGD on the estimate).
 * - `randomStart` false — start at x (true: a uniform random point of the ε-ball).
 * - `loss` 'margin' — the paper's logit margin, or 'ce', on the scores.
 *
 * One iteration costs `samples` + 1 queries per example (the estimate, then the new point).
 * Estimation and budget rules: gradient-estimation.ts.
 *
 * @example
 * ```ts
 * const spsa = new SpsaAttack({ samples: 64, steps: 50 });
 * const outcome = await runAttack(spsa, scoreOracle(model), x, labels, { eps: 0.3, norm: 'linf', seed: 0 });
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import type { ScoreOracle } from '../model/oracles.js';
import { rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { estimatedGradientAscent, evenSamples, normalizedStep, SCORE_LOSSES, type AscentUpdate, type ScoreLoss } from './gradient-estimation.js';
import { boolean, oneOf, positiveInteger, positiveNumber } from '../options.js';

export const SPSA_UPDATES = ['adam', 'sign'] as const;
export type SpsaUpdate = (typeof SPSA_UPDATES)[number];

export interface SpsaOptions {
  /** Perturbation size δ of the finite differences. Default 0.01 (Uesato et al. 2018). */
  readonly delta: number;
  /** Adam's step size (absolute, per input feature); with `update: 'sign'` the size of each sign (L∞) or normalised (L2) step. Default 0.01 (Uesato et al. 2018). */
  readonly learningRate: number;
  /** Queries per gradient estimate (samples / 2 antithetic pairs); even, ≥ 2. Default 128 (the authors' CleverHans implementation). */
  readonly samples: number;
  /** Most iterations. Default 100 (Uesato et al. 2018). */
  readonly steps: number;
  /** Most queries per example; the oracle's budget also binds. Default 20000. */
  readonly queries: number;
  /** 'adam' (β₁ 0.9, β₂ 0.999, the paper's) or 'sign' (PGD on the estimate). Default 'adam' (Uesato et al. 2018). */
  readonly update: SpsaUpdate;
  /** Start at a uniform random point of the ε-ball (false: at x). Default false. */
  readonly randomStart: boolean;
  /** 'margin' (the paper's logit margin) or 'ce', on the scores. Default 'margin' (Uesato et al. 2018). */
  readonly loss: ScoreLoss;
}

export const SPSA_DEFAULTS: SpsaOptions = Object.freeze({
  delta: 0.01,
  learningRate: 0.01,
  samples: 128,
  steps: 100,
  queries: 20000,
  update: 'adam',
  randomStart: false,
  loss: 'margin',
});

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

/** Adam ascent with per-example moments (examples addressed by their index in the attacked batch). */
function adamUpdate(n: number, row: number, learningRate: number): AscentUpdate {
  const m = new Float32Array(n * row);
  const v = new Float32Array(n * row);
  const t = new Int32Array(n);
  return {
    step: (active, xk, grad) => {
      const out = new Float32Array(xk.data.length);
      active.forEach((e, i) => {
        const k = ++t[e]!;
        const c1 = 1 - BETA1 ** k;
        const c2 = 1 - BETA2 ** k;
        for (let j = 0; j < row; j++) {
          const g = grad.data[i * row + j]!;
          const s = e * row + j;
          m[s] = BETA1 * m[s]! + (1 - BETA1) * g;
          v[s] = BETA2 * v[s]! + (1 - BETA2) * g * g;
          out[i * row + j] = xk.data[i * row + j]! + (learningRate * (m[s]! / c1)) / (Math.sqrt(v[s]! / c2) + ADAM_EPSILON);
        }
      });
      return { data: out, shape: [...xk.shape] };
    },
  };
}

export class SpsaAttack extends ConfiguredAttack<ScoreOracle, SpsaOptions> {
  constructor(options: Partial<SpsaOptions> = {}) {
    super({ name: 'spsa', kind: 'fixed-epsilon', oracleKind: 'score', norms: ['linf', 'l2'], targeted: true }, SPSA_DEFAULTS, options, {
      delta: positiveNumber,
      learningRate: positiveNumber,
      samples: evenSamples,
      steps: positiveInteger,
      queries: positiveInteger,
      update: oneOf(SPSA_UPDATES),
      randomStart: boolean,
      loss: oneOf(SCORE_LOSSES),
    });
  }

  run(oracle: ScoreOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const o = this.options;
    const update = o.update === 'adam' ? adamUpdate(x.shape[0]!, rowSize(x), o.learningRate) : normalizedStep(ctx.norm, o.learningRate);
    return estimatedGradientAscent(
      this.name,
      oracle,
      x,
      criterion,
      ctx,
      { samples: o.samples, scale: o.delta, direction: 'rademacher', loss: o.loss, steps: o.steps, queries: o.queries, randomStart: o.randomStart },
      update,
    );
  }
}
