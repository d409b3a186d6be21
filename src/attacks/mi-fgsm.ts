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
import type { NormName } from '../norms/norm.js';
import { gatherRows, gatherValues, rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Attack, AttackContext, AttackResult } from './attack.js';
import { addScaled, BestSoFar, unflagged } from './best-so-far.js';
import { checkClassesFor, LOSS_FAMILIES, lossFor, type LossFamily } from './loss.js';
import { nonNegativeNumber, oneOf, optional, positiveInteger, positiveNumber, resolveOptions } from '../options.js';

export interface MiFgsmOptions {
  readonly steps: number;
  readonly decay: number;
  readonly relStepsize: number;
  readonly absStepsize: number | undefined;
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

export class MiFgsmAttack implements Attack<GradientOracle> {
  readonly name = 'mi-fgsm';
  readonly kind = 'fixed-epsilon' as const;
  readonly oracleKind = 'gradient' as const;
  readonly norms: readonly NormName[] = ['linf', 'l2'];
  readonly targeted = true;
  readonly options: Readonly<MiFgsmOptions>;

  constructor(options: Partial<MiFgsmOptions> = {}) {
    this.options = resolveOptions(this.name, MI_FGSM_DEFAULTS, options, {
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
    let active = best.remaining();
    let x0 = x;
    let xk = x;
    let momentum: Tensor = { data: new Float32Array(x.data.length), shape: [...x.shape] };
    let labels = criterion.labels;
    let targets = criterion.targets;
    for (let step = 0; step <= steps && active.length > 0; step++) {
      ctx.signal?.throwIfAborted();
      if (step === steps) {
        best.observe(active, xk, await oracle.logits(xk, active));
        break;
      }
      const r = await oracle.lossAndGrad(xk, labels, loss, targets, active);
      best.steps++;
      const keep = unflagged(best.observe(active, xk, r.logits, r.loss, r.grad));
      ctx.onProgress?.({ step, steps, remaining: keep.length });
      if (keep.length === 0) break;
      let grad = r.grad;
      if (keep.length < active.length) {
        active = gatherValues(active, keep);
        x0 = gatherRows(x0, keep);
        xk = gatherRows(xk, keep);
        grad = gatherRows(grad, keep);
        momentum = gatherRows(momentum, keep);
        labels = gatherValues(labels, keep);
        targets = targets && gatherValues(targets, keep);
      }
      momentum = accumulate(momentum, grad, decay);
      xk = norm.project(x0, addScaled(xk, norm.normalizeGradient(momentum), alpha), eps, oracle.bounds);
    }
    return best.result();
  }
}
