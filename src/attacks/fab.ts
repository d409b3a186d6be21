/**
 * FAB-T — the targeted Fast Adaptive Boundary attack: a minimum-norm attack that, for each target
 * class t among the highest-scoring others, linearises the boundary z_t = z_y at the current point,
 * projects both the current point and the original onto that hyperplane (inside the input box),
 * and steps to a convex combination of the two projections that favours the original (α ≤ α_max),
 * extrapolated by η. Once a point is adversarial, it steps back towards the original (β), so the
 * search closes in on the smallest perturbation. The smallest adversarial point over all targets
 * and restarts is the answer.
 *
 * Paper: Croce & Hein, "Minimally distorted adversarial examples with a fast adaptive boundary
 * attack", ICML 2020, https://arxiv.org/abs/1907.02044 (Algorithm 1, the projection of Section 3.2);
 * the targeted variant and its settings are those of AutoAttack (Croce & Hein 2020,
 * arXiv:2003.01690).
 *
 * Threat model: white-box (GradientOracle); L∞ or L2; untargeted criteria (each of the top
 * `targetClasses` other classes is tried as the target) or targeted ones (the given target only).
 * A minimization attack: the harness judges its result against each ε.
 *
 * Options (AutoAttack's FAB-T defaults):
 * - `steps` 100 — iterations per target and restart.
 * - `targetClasses` 9 — how many of the highest-scoring other classes are tried, in turn.
 * - `restarts` 1 — the first from the clean point, later ones from a random point at half the
 *   smallest distance found so far (or ε/2).
 * - `alphaMax` 0.1, `eta` 1.05, `beta` 0.9 — the paper's step parameters.
 *
 * The gradient of z_t − z_y comes from one batched query of two copies per example: the CE head
 * with label k has gradient ∇(logsumexp z − z_k), so row(y) − row(t) = ∇(z_t − z_y).
 *
 * @example
 * ```ts
 * const outcome = await runAttack(new FabAttack(), gradientOracle(model), x, labels, { eps: 0.3, norm: 'linf' });
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import { GibbonError } from '../errors.js';
import type { Bounds } from '../model/bounds.js';
import type { GradientOracle } from '../model/oracles.js';
import type { NormName } from '../norms/norm.js';
import type { Rng } from '../random.js';
import { rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Attack, AttackContext, AttackFacts, AttackResult } from './attack.js';
import { numberIn, positiveInteger, positiveNumber, resolveOptions } from './options.js';

export interface FabOptions {
  readonly steps: number;
  readonly targetClasses: number;
  readonly restarts: number;
  readonly alphaMax: number;
  readonly eta: number;
  readonly beta: number;
}

export const FAB_DEFAULTS: FabOptions = Object.freeze({ steps: 100, targetClasses: 9, restarts: 1, alphaMax: 0.1, eta: 1.05, beta: 0.9 });

/** Bisection steps of the box-constrained projection (2⁻⁴⁰ of the search interval). */
const BISECTIONS = 40;

/**
 * The smallest δ (in L∞ or L2) with w·δ = c and lo ≤ δ ≤ hi, or the one that gets closest when
 * the box does not reach the hyperplane. Both solutions have the form δ(s) = clip(s·d, lo, hi),
 * with d = sign(c)·sign(w) (L∞) or sign(c)·w (L2) — w·δ(s) grows with s — so s is found by
 * bisection.
 */
export function projectOntoHyperplane(w: Float32Array, c: number, lo: Float32Array, hi: Float32Array, norm: 'linf' | 'l2', out: Float32Array): void {
  const n = w.length;
  if (c === 0) {
    out.fill(0);
    return;
  }
  const sign = c > 0 ? 1 : -1;
  const target = Math.abs(c);
  const d = new Float64Array(n);
  let reach = 0;
  for (let i = 0; i < n; i++) {
    d[i] = norm === 'linf' ? sign * Math.sign(w[i]!) : sign * w[i]!;
    const a = Math.abs(d[i]!);
    if (a > 0) reach = Math.max(reach, Math.max(Math.abs(lo[i]!), Math.abs(hi[i]!)) / a);
  }
  const progress = (s: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) v += sign * w[i]! * Math.min(Math.max(s * d[i]!, lo[i]!), hi[i]!);
    return v;
  };
  let [low, high] = [0, reach];
  if (progress(high) > target) {
    for (let k = 0; k < BISECTIONS; k++) {
      const mid = (low + high) / 2;
      if (progress(mid) >= target) high = mid;
      else low = mid;
    }
  }
  for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(high * d[i]!, lo[i]!), hi[i]!);
}

function normOf(v: ArrayLike<number>, norm: 'linf' | 'l2'): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s = norm === 'linf' ? Math.max(s, Math.abs(v[i]!)) : s + v[i]! * v[i]!;
  return norm === 'linf' ? s : Math.sqrt(s);
}

/** Indices of the classes of one row, highest score first, without `exclude`. */
function rankedOthers(scores: ArrayLike<number>, exclude: number): number[] {
  const classes: number[] = [];
  for (let j = 0; j < scores.length; j++) if (j !== exclude) classes.push(j);
  return classes.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

export class FabAttack implements Attack<GradientOracle> {
  readonly name = 'fab-t';
  readonly kind = 'minimization' as const;
  readonly oracleKind = 'gradient' as const;
  readonly norms: readonly NormName[] = ['linf', 'l2'];
  readonly targeted = true;
  readonly options: Readonly<FabOptions>;

  constructor(options: Partial<FabOptions> = {}) {
    this.options = resolveOptions('fab-t', FAB_DEFAULTS, options, {
      steps: positiveInteger,
      targetClasses: positiveInteger,
      restarts: positiveInteger,
      alphaMax: numberIn(0, 1),
      eta: positiveNumber,
      beta: numberIn(0, 1),
    });
  }

  inapplicable(facts: AttackFacts): string | undefined {
    return facts.numClasses < 2 ? `${this.name} needs at least 2 classes; the model has ${facts.numClasses}` : undefined;
  }

  async run(oracle: GradientOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const norm = ctx.norm.name;
    if (norm !== 'linf' && norm !== 'l2') throw new GibbonError('invalid_option', `fab-t supports the norms linf, l2, not ${norm}`, { option: 'norm' });
    const n = x.shape[0]!;
    const row = rowSize(x);
    const best = Float32Array.from(x.data);
    const bestNorm = new Float64Array(n).fill(Infinity);
    const success = new Uint8Array(n);
    let steps = 0;
    if (n === 0) return { adversarial: { data: best, shape: [...x.shape] }, success, steps };

    const clean = await oracle.logits(x);
    const c = clean.shape[1]!;
    const ranked = Array.from({ length: n }, (_, i) => rankedOthers(clean.data.subarray(i * c, (i + 1) * c), criterion.labels[i]!));
    const ranks = criterion.targets ? 1 : Math.min(this.options.targetClasses, c - 1);
    const state = { best, bestNorm, success, steps: 0 };
    for (let rank = 0; rank < ranks; rank++) {
      const targets = Int32Array.from({ length: n }, (_, i) => (criterion.targets ? criterion.targets[i]! : ranked[i]![rank]!));
      for (let restart = 0; restart < this.options.restarts; restart++) {
        ctx.signal?.throwIfAborted();
        const rng = ctx.rng.fork('fab', rank * this.options.restarts + restart);
        await this.search(oracle, x, criterion, ctx, targets, restart, rng, state, `target ${rank + 1}/${ranks}, restart ${restart + 1}/${this.options.restarts}`);
      }
    }
    steps = state.steps;
    return { adversarial: { data: best, shape: [...x.shape] }, success, steps };
  }

  /** One FAB run towards `targets` for every example; improvements are merged into `state`. */
  private async search(
    oracle: GradientOracle,
    x: Tensor,
    criterion: Criterion,
    ctx: AttackContext,
    targets: Int32Array,
    restart: number,
    rng: Rng,
    state: { best: Float32Array; bestNorm: Float64Array; success: Uint8Array; steps: number },
    stage: string,
  ): Promise<void> {
    const norm = ctx.norm.name as 'linf' | 'l2';
    const { steps, alphaMax, eta, beta } = this.options;
    const n = x.shape[0]!;
    const row = rowSize(x);
    const bounds: Bounds = oracle.bounds;
    const example = x.shape.slice(1);
    const current = Float32Array.from(x.data);
    if (restart > 0) {
      // A random start at half the smallest distance found so far (ε/2 before any is found).
      for (let i = 0; i < n; i++) {
        const radius = Math.min(state.bestNorm[i]!, ctx.eps) / 2;
        if (!Number.isFinite(radius) || radius <= 0) continue;
        const t = Float64Array.from({ length: row }, () => rng.uniform() * 2 - 1);
        const scale = radius / Math.max(normOf(t, norm), 1e-12);
        for (let j = 0; j < row; j++) {
          const at = i * row + j;
          current[at] = Math.min(Math.max(x.data[at]! + t[j]! * scale, bounds.lower), bounds.upper);
        }
      }
    }
    const w = new Float32Array(row);
    const lo = new Float32Array(row);
    const hi = new Float32Array(row);
    const dk = new Float32Array(row);
    const d0 = new Float32Array(row);
    const all = Int32Array.from({ length: n }, (_, i) => i);
    for (let step = 0; step <= steps; step++) {
      ctx.onProgress?.({ step, steps, remaining: n, stage });
      // Two copies per example: labelled y and t; their CE gradients differ by ∇(z_t − z_y).
      const copies = new Float32Array(2 * n * row);
      const labels = new Int32Array(2 * n);
      const rows = new Int32Array(2 * n);
      for (let i = 0; i < n; i++) {
        copies.set(current.subarray(i * row, (i + 1) * row), 2 * i * row);
        copies.set(current.subarray(i * row, (i + 1) * row), (2 * i + 1) * row);
        labels[2 * i] = criterion.labels[i]!;
        labels[2 * i + 1] = targets[i]!;
        rows[2 * i] = all[i]!;
        rows[2 * i + 1] = all[i]!;
      }
      const r = await oracle.lossAndGrad({ data: copies, shape: [2 * n, ...example] }, labels, 'ce', undefined, rows);
      state.steps++;
      const c = r.logits.shape[1]!;
      for (let i = 0; i < n; i++) {
        const z = r.logits.data.subarray(2 * i * c, (2 * i + 1) * c);
        const point = current.subarray(i * row, (i + 1) * row);
        if (criterion.isAdversarial(z, i)) {
          let distance = 0;
          for (let j = 0; j < row; j++) {
            const v = Math.abs(point[j]! - x.data[i * row + j]!);
            distance = norm === 'linf' ? Math.max(distance, v) : distance + v * v;
          }
          if (norm === 'l2') distance = Math.sqrt(distance);
          if (distance < state.bestNorm[i]!) {
            state.bestNorm[i] = distance;
            state.best.set(point, i * row);
            state.success[i] = 1;
          }
          // Step back towards the original: the boundary is closer than this point.
          for (let j = 0; j < row; j++) point[j] = (1 - beta) * x.data[i * row + j]! + beta * point[j]!;
          continue;
        }
        if (step === steps) continue;
        // f = z_t − z_y; the linearised boundary is f + w·(x' − x_k) = 0.
        const f = z[targets[i]!]! - z[criterion.labels[i]!]!;
        const g = r.grad.data;
        let shift = 0;
        for (let j = 0; j < row; j++) {
          w[j] = g[2 * i * row + j]! - g[(2 * i + 1) * row + j]!;
          shift += w[j]! * (x.data[i * row + j]! - point[j]!);
        }
        for (let j = 0; j < row; j++) {
          lo[j] = bounds.lower - point[j]!;
          hi[j] = bounds.upper - point[j]!;
        }
        projectOntoHyperplane(w, -f, lo, hi, norm, dk);
        for (let j = 0; j < row; j++) {
          lo[j] = bounds.lower - x.data[i * row + j]!;
          hi[j] = bounds.upper - x.data[i * row + j]!;
        }
        projectOntoHyperplane(w, -(f + shift), lo, hi, norm, d0);
        const [nk, n0] = [normOf(dk, norm), normOf(d0, norm)];
        const alpha = nk + n0 > 0 ? Math.min(Math.max(nk / (nk + n0), 0), alphaMax) : 0;
        for (let j = 0; j < row; j++) {
          const next = (1 - alpha) * (point[j]! + eta * dk[j]!) + alpha * (x.data[i * row + j]! + eta * d0[j]!);
          point[j] = Math.min(Math.max(next, bounds.lower), bounds.upper);
        }
      }
    }
  }
}
