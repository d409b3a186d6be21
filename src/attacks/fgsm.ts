/**
 * FGSM — the fast gradient sign method: one step of size ε along the steepest-ascent direction
 * of the loss (sign of the gradient for L∞; for L2 the normalised gradient, the "fast gradient
 * method").
 *
 * Paper: Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015,
 * https://arxiv.org/abs/1412.6572
 *
 * Threat model: white-box (GradientOracle); L∞ (the paper) or L2; untargeted or targeted (the
 * criterion decides; a targeted criterion ascends the targeted loss head).
 *
 * Options (defaults from the paper):
 * - `loss` 'ce' — the loss family ascended: 'ce' (the paper's), 'margin' (C&W) or 'dlr'.
 * - `randomStart` false — start from a random point of the ball (a single step of size ε from a
 *   random start is "FGSM with random start", Wong et al. 2020); the paper starts at x.
 *
 * @example
 * ```ts
 * const outcome = await runAttack(new FgsmAttack(), gradientOracle(model), x, labels, { eps: 0.3, norm: 'linf' });
 * ```
 */
import { adversarialMask, type Criterion } from '../criteria/criterion.js';
import type { GradientOracle } from '../model/oracles.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { addScaled } from './best-so-far.js';
import { checkClassesFor, LOSS_FAMILIES, lossFor, type LossFamily } from './loss.js';
import { boolean, oneOf } from '../options.js';

export interface FgsmOptions {
  /** Loss family ascended: 'ce' (cross-entropy, the paper's), 'margin' (C&W) or 'dlr'. Default 'ce' (Goodfellow et al. 2015). */
  readonly loss: LossFamily;
  /** Start from a uniform random point of the ε-ball ("FGSM with random start", Wong et al. 2020) instead of x. Default false (Goodfellow et al. 2015 start at x). */
  readonly randomStart: boolean;
}

export const FGSM_DEFAULTS: FgsmOptions = Object.freeze({ loss: 'ce', randomStart: false });

export class FgsmAttack extends ConfiguredAttack<GradientOracle, FgsmOptions> {
  constructor(options: Partial<FgsmOptions> = {}) {
    super({ name: 'fgsm', kind: 'fixed-epsilon', oracleKind: 'gradient', norms: ['linf', 'l2'], targeted: true }, FGSM_DEFAULTS, options, {
      loss: oneOf(LOSS_FAMILIES),
      randomStart: boolean,
    });
  }

  async run(oracle: GradientOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const { eps, norm, rng } = ctx;
    const loss = lossFor(this.options.loss, criterion);
    checkClassesFor(loss, oracle.numClasses, this.name);
    ctx.signal?.throwIfAborted();
    const start = this.options.randomStart ? norm.randomStart(x, eps, rng, oracle.bounds) : x;
    const r = await oracle.lossAndGrad(start, criterion.labels, loss, criterion.targets);
    const adv = norm.project(x, addScaled(start, norm.normalizeGradient(r.grad), eps), eps, oracle.bounds);
    ctx.signal?.throwIfAborted();
    const success = adversarialMask(criterion, await oracle.logits(adv));
    ctx.onProgress?.({ step: 1, steps: 1, remaining: success.length - success.reduce((a, b) => a + b, 0) });
    const zeroGradient = new Uint8Array(success.length);
    const row = r.grad.data.length / Math.max(1, success.length);
    for (let i = 0; i < success.length; i++) zeroGradient[i] = r.grad.data.subarray(i * row, (i + 1) * row).every((v) => v === 0) ? 1 : 0;
    return { adversarial: adv, success, steps: 1, diagnostics: { initialLoss: r.loss, zeroGradient } };
  }
}
