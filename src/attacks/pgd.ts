/**
 * PGD — projected gradient descent (here: ascent on the loss) with a random start: repeated steps
 * of size α along the steepest-ascent direction of the norm, each followed by projection onto the
 * ε-ball ∩ bounds. One implementation for every norm: the norm object supplies the direction,
 * projection and random start.
 *
 * Paper: Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards Deep Learning Models Resistant to
 * Adversarial Attacks", ICLR 2018, https://arxiv.org/abs/1706.06083
 *
 * Threat model: white-box (GradientOracle); L∞ or L2; untargeted or targeted (the criterion
 * decides; a targeted criterion ascends the targeted head of the loss family).
 *
 * Options (defaults from the paper's MNIST setting: 40 steps of 0.01 at ε = 0.3, random start):
 * - `steps` 40 — iterations per restart.
 * - `relStepsize` 0.01 / 0.3 — step size as a fraction of ε.
 * - `absStepsize` unset — an absolute step size; overrides `relStepsize`.
 * - `randomStart` true — start from a uniform random point of the ball (false: start at x).
 * - `restarts` 1 — independent runs; only examples still robust are attacked again.
 * - `loss` 'ce' — 'ce' (the paper's), 'margin' (C&W) or 'dlr' (Croce & Hein 2020).
 *
 * Per example the first adversarial iterate found is kept (it is inside the budget); an example
 * that never succeeds returns its highest-loss iterate.
 *
 * @example
 * ```ts
 * const pgd = new PgdAttack({ steps: 100, restarts: 5 });
 * const outcome = await runAttack(pgd, gradientOracle(model), x, labels, { eps: 0.3, norm: 'linf', seed: 1 });
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import type { GradientOracle } from '../model/oracles.js';
import { gatherRows, gatherValues } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { ActiveSet } from './active-set.js';
import { addScaled, BestSoFar } from './best-so-far.js';
import { runGradientSteps } from './gradient-steps.js';
import { checkClassesFor, LOSS_FAMILIES, lossFor, type LossFamily } from './loss.js';
import { boolean, oneOf, optional, positiveInteger, positiveNumber } from '../options.js';

export interface PgdOptions {
  /** Gradient steps per restart. Default 40 (Madry et al. 2018, MNIST: 40 steps of 0.01 at ε = 0.3). */
  readonly steps: number;
  /** Step size as a fraction of ε. Default 0.01 / 0.3 (Madry et al. 2018, MNIST). */
  readonly relStepsize: number;
  /** Absolute step size; overrides `relStepsize` when set. Default unset. */
  readonly absStepsize: number | undefined;
  /** Start each restart from a uniform random point of the ε-ball (false: from x). Default true (Madry et al. 2018). */
  readonly randomStart: boolean;
  /** Independent runs; only examples still robust are attacked again. Default 1. */
  readonly restarts: number;
  /** Loss family ascended: 'ce' (the paper's), 'margin' (C&W) or 'dlr' (Croce & Hein 2020). Default 'ce' (Madry et al. 2018). */
  readonly loss: LossFamily;
}

export const PGD_DEFAULTS: PgdOptions = Object.freeze({
  steps: 40,
  relStepsize: 0.01 / 0.3,
  absStepsize: undefined,
  randomStart: true,
  restarts: 1,
  loss: 'ce',
});

export class PgdAttack extends ConfiguredAttack<GradientOracle, PgdOptions> {
  constructor(options: Partial<PgdOptions> = {}) {
    super({ name: 'pgd', kind: 'fixed-epsilon', oracleKind: 'gradient', norms: ['linf', 'l2'], targeted: true }, PGD_DEFAULTS, options, {
      steps: positiveInteger,
      relStepsize: positiveNumber,
      absStepsize: optional(positiveNumber),
      randomStart: boolean,
      restarts: positiveInteger,
      loss: oneOf(LOSS_FAMILIES),
    });
  }

  async run(oracle: GradientOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const { eps, norm, rng } = ctx;
    const { steps, restarts, randomStart } = this.options;
    const alpha = this.options.absStepsize ?? this.options.relStepsize * eps;
    const loss = lossFor(this.options.loss, criterion);
    checkClassesFor(loss, oracle.numClasses, this.name);
    const best = new BestSoFar(x, criterion);

    for (let restart = 0; restart < restarts; restart++) {
      const remaining = best.remaining();
      if (remaining.length === 0) break;
      const x0 = gatherRows(x, remaining);
      const set = new ActiveSet(remaining, {
        x0,
        xk: randomStart ? norm.randomStart(x0, eps, rng, oracle.bounds) : x0,
        grad: undefined as Tensor | undefined,
        labels: gatherValues(criterion.labels, remaining),
        targets: criterion.targets && gatherValues(criterion.targets, remaining),
      });
      await runGradientSteps(oracle, set, best, ctx, {
        steps,
        loss,
        stage: `restart ${restart + 1}/${restarts}`,
        next: (s) => addScaled(s.xk, norm.normalizeGradient(s.grad!), alpha),
      });
    }
    return best.result();
  }
}
