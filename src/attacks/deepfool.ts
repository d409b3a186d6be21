/**
 * DeepFool — walks to the nearest decision boundary of the classifier linearised at the current
 * point: for each candidate class k, f_k = Z_k − Z_y and w_k = ∇f_k; the closest boundary is
 * l = argmin_k |f_k| / ‖w_k‖_* (‖·‖_* the dual norm), and the step is
 * r = (|f_l| / ‖w_l‖_*) · direction(w_l) (w/‖w‖₂ for L2, sign(w) for L∞). Steps accumulate until
 * the label changes; the total is scaled by (1 + overshoot). A minimization attack: it returns a
 * small perturbation, whatever ε is.
 *
 * Paper: Moosavi-Dezfooli, Fawzi & Frossard, "DeepFool: a simple and accurate method to fool deep
 * neural networks", CVPR 2016, https://arxiv.org/abs/1511.04599 (Algorithm 2; ℓ_p in Section 3.3).
 *
 * Threat model: white-box (GradientOracle); L2 or L∞; untargeted only.
 *
 * Options (defaults from the paper):
 * - `steps` 50 — iterations at most.
 * - `overshoot` 0.02 — η, the final scaling (1 + η) that pushes the point across the boundary.
 * - `candidates` 10 — the number of highest-scoring classes at x (the true one included) whose
 *   boundaries are considered (the paper's top-10 for ImageNet; all classes of a 10-class model).
 *
 * Gradients of every candidate logit difference come from one batched gradient query per
 * iteration: the cross-entropy head with label k has gradient ∇(logsumexp Z − Z_k), so the
 * difference of the rows for labels y and k is exactly ∇(Z_k − Z_y).
 *
 * @example
 * ```ts
 * const outcome = await runAttack(new DeepFoolAttack(), gradientOracle(model), x, labels, { eps: 2, norm: 'l2' });
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import { clampToBounds } from '../model/bounds.js';
import type { GradientOracle } from '../model/oracles.js';
import { gatherRows, gatherValues, rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { ActiveSet, unflagged } from './active-set.js';
import { BestSoFar } from './best-so-far.js';
import { nonNegativeNumber, positiveInteger } from '../options.js';

export interface DeepFoolOptions {
  /** Iterations at most. Default 50 (Moosavi-Dezfooli et al. 2016). */
  readonly steps: number;
  /** η, the final scaling (1 + η) of the summed steps that pushes the point across the boundary. Default 0.02 (Moosavi-Dezfooli et al. 2016). */
  readonly overshoot: number;
  /** How many highest-scoring classes at x (the true one included) have their boundaries considered; at least 2. Default 10 (Moosavi-Dezfooli et al. 2016, top-10 for ImageNet). */
  readonly candidates: number;
}

export const DEEPFOOL_DEFAULTS: DeepFoolOptions = Object.freeze({ steps: 50, overshoot: 0.02, candidates: 10 });

/** The boundary step is divided by nothing smaller than this (flat regions). */
const TINY = 1e-12;
/** Added to |f| so that a point exactly on the boundary still moves across it. */
const NUDGE = 1e-4;

export class DeepFoolAttack extends ConfiguredAttack<GradientOracle, DeepFoolOptions> {
  constructor(options: Partial<DeepFoolOptions> = {}) {
    super({ name: 'deepfool', kind: 'minimization', oracleKind: 'gradient', norms: ['l2', 'linf'], targeted: false }, DEEPFOOL_DEFAULTS, options, {
      steps: positiveInteger,
      overshoot: nonNegativeNumber,
      candidates: { expected: 'an integer ≥ 2', valid: (v) => Number.isInteger(v) && (v as number) >= 2 },
    });
  }

  async run(oracle: GradientOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const { norm } = ctx;
    const { steps, overshoot } = this.options;
    const n = x.shape[0]!;
    const row = rowSize(x);
    const k = Math.min(this.options.candidates, oracle.numClasses);
    const best = new BestSoFar(x, criterion);

    // Candidate classes per example: its label first, then the highest-scoring others at x.
    const clean = await oracle.logits(x);
    const classes = clean.shape[1]!;
    const candidates = new Int32Array(n * k);
    for (let i = 0; i < n; i++) {
      const y = criterion.labels[i]!;
      const scores = clean.data.subarray(i * classes, (i + 1) * classes);
      const others = Array.from({ length: classes }, (_, j) => j)
        .filter((j) => j !== y)
        .sort((a, b) => scores[b]! - scores[a]! || a - b);
      candidates[i * k] = y;
      for (let j = 1; j < k; j++) candidates[i * k + j] = others[j - 1]!;
    }

    // total: the sum of the boundary steps so far, per example.
    const set = new ActiveSet(best.remaining(), { x0: x, xk: x, total: { data: new Float32Array(x.data.length), shape: [...x.shape] } as Tensor });
    const s = set.state;
    for (let step = 0; step <= steps && set.size > 0; step++) {
      ctx.signal?.throwIfAborted();
      const active = set.examples;
      const xk = s.xk;
      if (step === steps) {
        best.observe(active, xk, await oracle.logits(xk, active));
        break;
      }
      // One batch: k copies of every active example, labelled with its candidate classes.
      const m = active.length;
      const copies = new Float32Array(m * k * row);
      const copyLabels = new Int32Array(m * k);
      const copyRows = new Int32Array(m * k);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < k; j++) {
          copies.set(xk.data.subarray(i * row, (i + 1) * row), (i * k + j) * row);
          copyLabels[i * k + j] = candidates[active[i]! * k + j]!;
          copyRows[i * k + j] = i;
        }
      }
      const r = await oracle.lossAndGrad({ data: copies, shape: [m * k, ...x.shape.slice(1)] }, copyLabels, 'ce', undefined, gatherValues(active, copyRows));
      best.steps++;
      const logits = gatherRows(
        r.logits,
        Int32Array.from({ length: m }, (_, i) => i * k),
      );
      const done = best.observe(active, xk, logits);
      const keep = unflagged(done);
      ctx.onProgress?.({ step, steps, remaining: keep.length });
      if (keep.length === 0) break;

      // w_j = ∇(Z_j − Z_y) = g_y − g_j, where g_j is the gradient of the copy labelled j.
      const w = new Float32Array(m * (k - 1) * row);
      const f = new Float32Array(m * (k - 1));
      for (let i = 0; i < m; i++) {
        const y = candidates[active[i]! * k]!;
        for (let j = 1; j < k; j++) {
          const cls = candidates[active[i]! * k + j]!;
          f[i * (k - 1) + j - 1] = logits.data[i * classes + cls]! - logits.data[i * classes + y]!;
          const gy = i * k * row;
          const gj = (i * k + j) * row;
          const out = (i * (k - 1) + j - 1) * row;
          for (let q = 0; q < row; q++) w[out + q] = r.grad.data[gy + q]! - r.grad.data[gj + q]!;
        }
      }
      const wT: Tensor = { data: w, shape: [m * (k - 1), ...x.shape.slice(1)] };
      const dual = norm.dualNorm(wT);
      const direction = norm.normalizeGradient(wT);
      const next = new Float32Array(m * row);
      const total = s.total.data;
      const x0 = s.x0;
      for (let i = 0; i < m; i++) {
        let bestJ = 0;
        let bestDistance = Infinity;
        for (let j = 0; j < k - 1; j++) {
          const d = Math.abs(f[i * (k - 1) + j]!) / Math.max(dual[i * (k - 1) + j]!, TINY);
          if (d < bestDistance) {
            bestDistance = d;
            bestJ = j;
          }
        }
        const c = i * (k - 1) + bestJ;
        const size = (Math.abs(f[c]!) + NUDGE) / Math.max(dual[c]!, TINY);
        for (let q = 0; q < row; q++) {
          const p = i * row + q;
          total[p] = total[p]! + size * direction.data[c * row + q]!;
          next[p] = x0.data[p]! + (1 + overshoot) * total[p]!;
        }
      }
      s.xk = clampToBounds({ data: next, shape: xk.shape }, oracle.bounds);
      set.keep(keep);
    }
    return best.result(false);
  }
}
