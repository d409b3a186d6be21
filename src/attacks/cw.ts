/**
 * C&W L2 — the Carlini & Wagner attack: minimise ‖x' − x‖₂² + c·f(x') with Adam, where
 * f(x') = max(Z_y − max_{j≠y} Z_j, −κ) on the logits Z (targeted: max(max_{j≠t} Z_j − Z_t, −κ)).
 * The box constraint disappears through the change of variables x' = lo + (hi − lo)(tanh w + 1)/2,
 * and a binary search per example finds the smallest constant c that still succeeds. A
 * minimization attack: it returns the smallest successful perturbation it found, whatever ε is.
 *
 * Paper: Carlini & Wagner, "Towards Evaluating the Robustness of Neural Networks", IEEE S&P 2017,
 * https://arxiv.org/abs/1608.04644 (Section V.A, the L2 attack).
 *
 * Threat model: white-box (GradientOracle); L2 only; untargeted or targeted.
 *
 * Options (defaults from the paper's reference implementation):
 * - `binarySearchSteps` 9 — searches over c.
 * - `steps` 10000 — Adam iterations per search step (the cost: use ~1000 for quick runs).
 * - `stepsize` 0.01 — Adam learning rate (β₁ 0.9, β₂ 0.999).
 * - `initialConst` 0.001 — first c.
 * - `confidence` 0 — κ: success also needs a logit margin of at least κ.
 * - `abortEarly` true — stop an example's search step when its objective has not improved by
 *   0.01% over the last tenth of the iterations.
 *
 * c update per example: on success the upper bound becomes c and c the midpoint; on failure the
 * lower bound becomes c and c the midpoint, or 10·c while no upper bound is known.
 *
 * @example
 * ```ts
 * const cw = new CwAttack({ steps: 1000 });
 * const outcome = await runAttack(cw, gradientOracle(model), x, labels, { eps: [0.5, 1, 2], norm: 'l2' });
 * ```
 */
import type { LossName } from '../autodiff/loss-heads.js';
import type { Criterion } from '../criteria/criterion.js';
import type { GradientOracle } from '../model/oracles.js';
import { cloneTensor, gatherValues, rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { boolean, nonNegativeNumber, positiveInteger, positiveNumber } from '../options.js';

export interface CwOptions {
  /** Binary-search steps over the constant c. Default 9 (Carlini & Wagner 2017, reference implementation). */
  readonly binarySearchSteps: number;
  /** Adam iterations per search step; the cost of the attack (about 1000 for quick runs). Default 10000 (Carlini & Wagner 2017). */
  readonly steps: number;
  /** Adam learning rate (β₁ 0.9, β₂ 0.999). Default 0.01 (Carlini & Wagner 2017). */
  readonly stepsize: number;
  /** The first c. Default 0.001 (Carlini & Wagner 2017). */
  readonly initialConst: number;
  /** κ: success also needs a logit margin of at least κ. Default 0 (Carlini & Wagner 2017). */
  readonly confidence: number;
  /** Stop an example's search step when its objective has not improved by 0.01% over the last tenth of the iterations. Default true (Carlini & Wagner 2017, reference implementation). */
  readonly abortEarly: boolean;
}

export const CW_DEFAULTS: CwOptions = Object.freeze({
  binarySearchSteps: 9,
  steps: 10000,
  stepsize: 0.01,
  initialConst: 0.001,
  confidence: 0,
  abortEarly: true,
});

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
/** No upper bound on c known yet. */
const NO_UPPER = 1e10;

export class CwAttack extends ConfiguredAttack<GradientOracle, CwOptions> {
  constructor(options: Partial<CwOptions> = {}) {
    super({ name: 'cw', kind: 'minimization', oracleKind: 'gradient', norms: ['l2'], targeted: true }, CW_DEFAULTS, options, {
      binarySearchSteps: positiveInteger,
      steps: positiveInteger,
      stepsize: positiveNumber,
      initialConst: positiveNumber,
      confidence: nonNegativeNumber,
      abortEarly: boolean,
    });
  }

  async run(oracle: GradientOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const { binarySearchSteps, steps, stepsize, confidence, abortEarly } = this.options;
    const { lower, upper } = oracle.bounds;
    const half = (upper - lower) / 2;
    const n = x.shape[0]!;
    const row = rowSize(x);
    // margin heads: 'margin' = max_{j≠y} Z_j − Z_y, 'margin-targeted' = Z_t − max_{j≠t} Z_j; f = max(−margin, −κ).
    const loss: LossName = criterion.targets ? 'margin-targeted' : 'margin';
    const c = new Float64Array(n).fill(this.options.initialConst);
    const cLow = new Float64Array(n);
    const cHigh = new Float64Array(n).fill(NO_UPPER);
    const bestDist = new Float64Array(n).fill(Infinity);
    const bestAdv = cloneTensor(x);
    const success = new Uint8Array(n);
    // tanh-space starting point; the factor keeps atanh finite at the bounds.
    const w0 = new Float32Array(x.data.length);
    for (let j = 0; j < w0.length; j++) w0[j] = Math.atanh(((x.data[j]! - lower) / half - 1) * (1 - 1e-6));
    const abortEvery = Math.max(1, Math.ceil(steps / 10));
    let evaluations = 0;

    for (let search = 0; search < binarySearchSteps; search++) {
      const w = Float32Array.from(w0);
      const m = new Float32Array(w.length);
      const v = new Float32Array(w.length);
      const t = new Int32Array(n);
      const previous = new Float64Array(n).fill(Infinity);
      const succeededNow = new Uint8Array(n);
      let active = Int32Array.from({ length: n }, (_, i) => i);

      for (let step = 0; step < steps && active.length > 0; step++) {
        ctx.signal?.throwIfAborted();
        const k = active.length;
        const xa = new Float32Array(k * row);
        const tanhW = new Float64Array(k * row);
        for (let i = 0; i < k; i++) {
          const e = active[i]!;
          for (let j = 0; j < row; j++) {
            const th = Math.tanh(w[e * row + j]!);
            tanhW[i * row + j] = th;
            xa[i * row + j] = lower + half * (th + 1);
          }
        }
        const xAdv: Tensor = { data: xa, shape: [k, ...x.shape.slice(1)] };
        const labels = gatherValues(criterion.labels, active);
        const targets = criterion.targets && gatherValues(criterion.targets, active);
        const r = await oracle.lossAndGrad(xAdv, labels, loss, targets, active);
        evaluations++;
        const classes = r.logits.shape[1]!;
        const stillActive: number[] = [];
        for (let i = 0; i < k; i++) {
          const e = active[i]!;
          const margin = r.loss[i]!;
          let dist2 = 0;
          for (let j = 0; j < row; j++) {
            const d = xa[i * row + j]! - x.data[e * row + j]!;
            dist2 += d * d;
          }
          const objective = dist2 + c[e]! * Math.max(-margin, -confidence);
          const adversarial = margin >= confidence && criterion.isAdversarial(r.logits.data.subarray(i * classes, (i + 1) * classes), e);
          if (adversarial) {
            succeededNow[e] = 1;
            if (dist2 < bestDist[e]!) {
              bestDist[e] = dist2;
              success[e] = 1;
              bestAdv.data.set(xa.subarray(i * row, (i + 1) * row), e * row);
            }
          }
          // d objective / d x' = 2(x' − x) − c·∇margin while the hinge is active; then through tanh.
          const hinge = -margin > -confidence ? c[e]! : 0;
          t[e]!++;
          const bias1 = 1 - Math.pow(BETA1, t[e]!);
          const bias2 = 1 - Math.pow(BETA2, t[e]!);
          for (let j = 0; j < row; j++) {
            const p = e * row + j;
            const q = i * row + j;
            const dx = 2 * (xa[q]! - x.data[p]!) - hinge * r.grad.data[q]!;
            const th = tanhW[q]!;
            const g = dx * half * (1 - th * th);
            m[p] = BETA1 * m[p]! + (1 - BETA1) * g;
            v[p] = BETA2 * v[p]! + (1 - BETA2) * g * g;
            w[p] = w[p]! - (stepsize * (m[p]! / bias1)) / (Math.sqrt(v[p]! / bias2) + ADAM_EPSILON);
          }
          let keep = true;
          if (abortEarly && (step + 1) % abortEvery === 0) {
            if (objective > previous[e]! * 0.9999) keep = false;
            previous[e] = objective;
          }
          if (keep) stillActive.push(e);
        }
        active = Int32Array.from(stillActive);
        ctx.onProgress?.({ step, steps, remaining: n - success.reduce((s, b) => s + b, 0), stage: `binary search ${search + 1}/${binarySearchSteps}` });
      }

      for (let e = 0; e < n; e++) {
        if (succeededNow[e]) {
          cHigh[e] = Math.min(cHigh[e]!, c[e]!);
          c[e] = (cLow[e]! + cHigh[e]!) / 2;
        } else {
          cLow[e] = Math.max(cLow[e]!, c[e]!);
          c[e] = cHigh[e]! < NO_UPPER ? (cLow[e]! + cHigh[e]!) / 2 : c[e]! * 10;
        }
      }
    }
    return { adversarial: bestAdv, success, steps: evaluations };
  }
}
