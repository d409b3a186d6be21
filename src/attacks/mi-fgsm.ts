/**
 * MI-FGSM — momentum iterative FGSM: iterative sign steps whose direction is an accumulated
 * momentum of L1-normalised gradients, which stabilises the direction (and transfers better to
 * other models).
 *
 * Paper: Dong, Liao, Pang, Su, Zhu, Hu & Li, "Boosting Adversarial Attacks with Momentum",
 * CVPR 2018, https://arxiv.org/abs/1710.06081
 *
 * Threat model: white-box (GradientOracle), also the usual source of transfer attacks; L∞ (the
 * paper) or L2 (the paper's L2 variant: steps along g / ‖g‖₂); untargeted or targeted.
 *
 * Options (defaults from the paper):
 * - `steps` 10 — iterations T.
 * - `decay` 1.0 — momentum decay factor μ.
 * - `relStepsize` 0.1 — step α as a fraction of ε (the paper's α = ε / T for T = 10).
 * - `absStepsize` unset — an absolute step size; overrides `relStepsize`.
 * - `loss` 'ce' — 'ce' (the paper's), 'margin' or 'dlr'.
 *
 * Update: g ← μ·g + ∇ / ‖∇‖₁;  x ← Π(x + α·direction(g)).
 *
 * @example
 * ```ts
 * const outcome = await runAttack(new MiFgsmAttack(), gradientOracle(surrogate), x, labels, { eps: 16 / 255, norm: 'linf' });
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import type { GradientOracle } from '../model/oracles.js';
import { rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { ActiveSet } from './active-set.js';
import { addScaled, BestSoFar } from './best-so-far.js';
import { runGradientSteps } from './gradient-steps.js';
import { checkClassesFor, LOSS_FAMILIES, lossFor, type LossFamily } from './loss.js';
import { nonNegativeNumber, oneOf, optional, positiveInteger, positiveNumber } from '../options.js';

export interface MiFgsmOptions {
  /** Iterations T. Default 10 (Dong et al. 2018). */
  readonly steps: number;
  /** Momentum decay factor μ in g ← μ·g + ∇ / ‖∇‖₁. Default 1.0 (Dong et al. 2018). */
  readonly decay: number;
  /** Step α as a fraction of ε. Default 0.1, the paper's α = ε / T for T = 10 (Dong et al. 2018). */
  readonly relStepsize: number;
  /** Absolute step size; overrides `relStepsize` when set. Default unset. */
  readonly absStepsize: number | undefined;
  /** Loss family ascended: 'ce' (the paper's), 'margin' or 'dlr'. Default 'ce' (Dong et al. 2018). */
  readonly loss: LossFamily;
}

export const MI_FGSM_DEFAULTS: MiFgsmOptions = Object.freeze({ steps: 10, decay: 1.0, relStepsize: 0.1, absStepsize: undefined, loss: 'ce' });

/** momentum ← decay·momentum + g / ‖g‖₁ (per example; zero gradients add nothing). */
function accumulate(momentum: Tensor, g: Tensor, decay: number): Tensor {
  const row = rowSize(g);
  const out = new Float32Array(g.data.length);
  for (let i = 0; i < g.shape[0]!; i++) {
    let l1 = 0;
    for (let j = i * row; j < (i + 1) * row; j++) l1 += Math.abs(g.data[j]!);
    const s = l1 > 0 ? 1 / l1 : 0;
    for (let j = i * row; j < (i + 1) * row; j++) out[j] = decay * momentum.data[j]! + g.data[j]! * s;
  }
  return { data: out, shape: [...g.shape] };
}

export class MiFgsmAttack extends ConfiguredAttack<GradientOracle, MiFgsmOptions> {
  constructor(options: Partial<MiFgsmOptions> = {}) {
    super({ name: 'mi-fgsm', kind: 'fixed-epsilon', oracleKind: 'gradient', norms: ['linf', 'l2'], targeted: true }, MI_FGSM_DEFAULTS, options, {
      steps: positiveInteger,
      decay: nonNegativeNumber,
      relStepsize: positiveNumber,
      absStepsize: optional(positiveNumber),
      loss: oneOf(LOSS_FAMILIES),
    });
  }

  async run(oracle: GradientOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const { eps, norm } = ctx;
    const { steps, decay } = this.options;
    const alpha = this.options.absStepsize ?? this.options.relStepsize * eps;
    const loss = lossFor(this.options.loss, criterion);
    checkClassesFor(loss, oracle.numClasses, this.name);
    const best = new BestSoFar(x, criterion);
    const set = new ActiveSet(best.remaining(), {
      x0: x,
      xk: x,
      grad: undefined as Tensor | undefined,
      momentum: { data: new Float32Array(x.data.length), shape: [...x.shape] } as Tensor,
      labels: criterion.labels,
      targets: criterion.targets,
    });
    await runGradientSteps(oracle, set, best, ctx, {
      steps,
      loss,
      next: (s) => {
        s.momentum = accumulate(s.momentum, s.grad!, decay);
        return addScaled(s.xk, norm.normalizeGradient(s.momentum), alpha);
      },
    });
    return best.result();
  }
}
