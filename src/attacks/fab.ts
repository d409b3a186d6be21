/**
 * FAB-T — the targeted Fast Adaptive Boundary attack (and FAB, its untargeted form): a minimum-norm
 * attack that, for each target class t among the highest-scoring others (FAB: at every step the
 * class whose linearised boundary is nearest), linearises the boundary z_t = z_y at the current point,
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
 * A minimization attack: the harness judges its result against each ε. As in AutoAttack, later
 * targets and restarts attack only the examples not yet beaten within ε (the context's ε, the
 * largest of interest), so a run stops early once every example is; pass a large ε to keep
 * minimising them all.
 *
 * Options (AutoAttack's FAB-T defaults):
 * - `search` 'targets' — FAB-T; 'closest' is FAB (Algorithm 1: s = argmin_k |f_k| / ‖∇f_k‖_dual,
 *   which costs one gradient copy per other class and step). Registry names: 'fab-t', 'fab'.
 * - `steps` 100 — iterations per target and restart.
 * - `targetClasses` 9 — how many of the highest-scoring other classes are tried, in turn.
 * - `restarts` 1 — the first from the clean point, later ones from a random point at half the
 *   smallest distance found so far (or ε/2).
 * - `alphaMax` 0.1, `eta` 1.05, `beta` 0.9 — the paper's step parameters.
 *
 * Each step is one gradient query of the margin-targeted head, z_t − max_{j≠t} z_j: at a point the
 * model still assigns to y that is f = z_t − z_y, the function whose zero set FAB linearises (a
 * targeted criterion gets the boundary between t and the current top class). Points already
 * adversarial are not stepped from but pulled back, so the head is only used where it is f.
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
import type { Rng } from '../random.js';
import { AscendingOrder } from '../tensor/ascending-order.js';
import { gatherRows, rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackFacts, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { numberIn, oneOf, positiveInteger, positiveNumber } from '../options.js';

export interface FabOptions {
  /** 'targets' (FAB-T): the top `targetClasses` other classes in turn; 'closest' (FAB, Algorithm 1): at every step the nearest linearised boundary. Default 'targets' (AutoAttack's FAB-T). */
  readonly search: 'targets' | 'closest';
  /** Iterations per target and restart. Default 100 (Croce & Hein 2020, arXiv:1907.02044; AutoAttack's FAB-T). */
  readonly steps: number;
  /** How many of the highest-scoring other classes FAB-T tries, in turn. Default 9 (AutoAttack's FAB-T). */
  readonly targetClasses: number;
  /** Runs; the first from the clean point, later ones from a random point at half the smallest distance found so far (or ε/2). Default 1. */
  readonly restarts: number;
  /** α_max: the step is (1 − α)·(x_k + η·d_k) + α·(x + η·d_0), α = min(‖d_k‖ / (‖d_k‖ + ‖d_0‖), α_max). Default 0.1 (Croce & Hein 2020, arXiv:1907.02044). */
  readonly alphaMax: number;
  /** η, the extrapolation factor of the projection steps d_k and d_0. Default 1.05 (Croce & Hein 2020). */
  readonly eta: number;
  /** β: a point that became adversarial moves back to (1 − β)·x + β·point. Default 0.9 (Croce & Hein 2020). */
  readonly beta: number;
}

export const FAB_DEFAULTS: FabOptions = Object.freeze({
  search: 'targets' as const,
  steps: 100,
  targetClasses: 9,
  restarts: 1,
  alphaMax: 0.1,
  eta: 1.05,
  beta: 0.9,
});

/**
 * The smallest δ (in L∞ or L2) with w·δ = c and lo ≤ δ ≤ hi (lo ≤ 0 ≤ hi), or, when the box does
 * not reach the hyperplane, the box corner that gets closest. Both norms' solutions have the form
 * δ(s) = clip(s·d, lo, hi) with d = sign(c)·sign(w) (L∞) or sign(c)·w (L2) (Section 3.2 of the
 * paper). sign(c)·w·δ(s) is piecewise linear and non-decreasing in s, with a breakpoint where each
 * coordinate reaches its bound: the breakpoints are walked in ascending order (ties by coordinate)
 * until the segment holding |c| is found, so the result is exact. The walk usually stops early (on
 * MNIST after a third of the breakpoints, most of them zeros: coordinates already at their bound), so
 * the zeros are taken in coordinate order and the rest lazily from a heap instead of sorting them all
 * (sorting was 11% of FAB-T's time).
 */
export function projectOntoHyperplane(
  w: Float32Array,
  c: number,
  lo: Float32Array,
  hi: Float32Array,
  norm: 'linf' | 'l2',
  out: Float32Array,
  scratch: ProjectionScratch = projectionScratch(w.length),
): void {
  const n = w.length;
  out.fill(0);
  if (c === 0) return;
  const sign = c > 0 ? 1 : -1;
  const target = Math.abs(c);
  const work = scratch.d.length >= n ? scratch : projectionScratch(n);
  const { d, saturation, zeros, rest, order } = work;
  let [zeroCount, restCount] = [0, 0];
  let negative = false;
  let slope = 0;
  for (let i = 0; i < n; i++) {
    d[i] = norm === 'linf' ? sign * Math.sign(w[i]!) : sign * w[i]!;
    if (d[i] === 0) continue;
    saturation[i] = (d[i]! > 0 ? hi[i]! : lo[i]!) / d[i]!;
    negative ||= saturation[i]! < 0;
    slope += sign * w[i]! * d[i]!;
    if (saturation[i] === 0) zeros[zeroCount++] = i;
    else rest[restCount++] = i;
  }
  // progress(s) = slope·s + reached, over coordinates not yet at their bound (slope) and those at it (reached).
  let reached = 0;
  let s = 0;
  let last = -1;
  const reaches = (i: number): boolean => {
    const at = saturation[i]!;
    if (slope * at + reached >= target) {
      s = slope > 0 ? (target - reached) / slope : at;
      return true;
    }
    slope -= sign * w[i]! * d[i]!;
    reached += sign * w[i]! * (d[i]! > 0 ? hi[i]! : lo[i]!);
    last = i;
    return false;
  };
  let found = false;
  // Breakpoints are ≥ 0 when lo ≤ 0 ≤ hi (the point is inside the box): the zeros come first, in coordinate
  // order. Otherwise (negative breakpoints) everything goes through the heap.
  if (negative) {
    for (let k = 0; k < zeroCount; k++) rest[restCount++] = zeros[k]!;
    zeroCount = 0;
    rest.subarray(0, restCount).sort(); // coordinate order, so that ties keep it
  }
  for (let k = 0; k < zeroCount && !found; k++) found = reaches(zeros[k]!);
  if (!found && restCount > 0) {
    order.reset(rest, restCount, saturation);
    for (let i = order.next(); i >= 0 && !found; i = order.next()) found = reaches(i);
  }
  if (!found) s = last >= 0 ? saturation[last]! : 0;
  for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(s * d[i]!, lo[i]!), hi[i]!);
}

/** projectOntoHyperplane's working buffers for rows of up to `size` coordinates, reused across its calls in an attack's loop. */
export interface ProjectionScratch {
  readonly d: Float64Array;
  readonly saturation: Float64Array;
  readonly zeros: Uint32Array;
  readonly rest: Uint32Array;
  readonly order: AscendingOrder;
}

export function projectionScratch(size: number): ProjectionScratch {
  return {
    d: new Float64Array(size),
    saturation: new Float64Array(size),
    zeros: new Uint32Array(size),
    rest: new Uint32Array(size),
    order: new AscendingOrder(),
  };
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

export class FabAttack extends ConfiguredAttack<GradientOracle, FabOptions> {
  declare readonly name: 'fab' | 'fab-t';

  constructor(options: Partial<FabOptions> = {}) {
    const name = options.search === 'closest' ? 'fab' : 'fab-t';
    super({ name, kind: 'minimization', oracleKind: 'gradient', norms: ['linf', 'l2'], targeted: true }, FAB_DEFAULTS, options, {
      search: oneOf(['targets', 'closest'] as const),
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
    if (n === 0) return { adversarial: { data: best, shape: [...x.shape] }, success, steps: 0 };

    const clean = await oracle.logits(x);
    const c = clean.shape[1]!;
    const ranked = Array.from({ length: n }, (_, i) => rankedOthers(clean.data.subarray(i * c, (i + 1) * c), criterion.labels[i]!));
    // 'closest' searches all classes at every step: one pass, no fixed target (targets of −1).
    const closest = this.options.search === 'closest' && !criterion.targets;
    const ranks = criterion.targets || closest ? 1 : Math.min(this.options.targetClasses, c - 1);
    let steps = 0;
    for (let rank = 0; rank < ranks; rank++) {
      for (let restart = 0; restart < this.options.restarts; restart++) {
        ctx.signal?.throwIfAborted();
        // As in AutoAttack, later targets and restarts attack only the examples not yet beaten within ε.
        const open: number[] = [];
        for (let i = 0; i < n; i++) if (!(bestNorm[i]! <= ctx.eps)) open.push(i);
        if (open.length === 0) break;
        const sub = {
          x: gatherRows(x, open),
          criterion: criterion.subset(open),
          targets: Int32Array.from(open, (i) => (criterion.targets ? criterion.targets[i]! : closest ? -1 : ranked[i]![rank]!)),
          classes: c,
          bestNorm: Float64Array.from(open, (i) => bestNorm[i]!),
          best: new Float32Array(open.length * row),
          steps: 0,
        };
        const rng = ctx.rng.fork('fab', rank * this.options.restarts + restart);
        await this.search(oracle.forExamples(open), sub, ctx, restart, rng, `target ${rank + 1}/${ranks}, restart ${restart + 1}/${this.options.restarts}`);
        steps += sub.steps;
        open.forEach((i, k) => {
          if (!(sub.bestNorm[k]! < bestNorm[i]!)) return;
          bestNorm[i] = sub.bestNorm[k]!;
          best.set(sub.best.subarray(k * row, (k + 1) * row), i * row);
          success[i] = 1;
        });
      }
    }
    return { adversarial: { data: best, shape: [...x.shape] }, success, steps };
  }

  /**
   * One FAB run towards `state.targets` for every example of the (sub-)batch; a point closer than
   * `state.bestNorm` replaces it and `state.best`.
   */
  private async search(
    oracle: GradientOracle,
    state: { x: Tensor; criterion: Criterion; targets: Int32Array; classes: number; best: Float32Array; bestNorm: Float64Array; steps: number },
    ctx: AttackContext,
    restart: number,
    rng: Rng,
    stage: string,
  ): Promise<void> {
    const norm = ctx.norm.name as 'linf' | 'l2';
    const { steps, alphaMax, eta, beta } = this.options;
    const { x, criterion, targets } = state;
    const n = x.shape[0]!;
    const row = rowSize(x);
    const bounds: Bounds = oracle.bounds;
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
    const scratch = projectionScratch(row);
    for (let step = 0; step <= steps; step++) {
      ctx.onProgress?.({ step, steps, remaining: n, stage });
      // margin-targeted is z_t − max_{j≠t} z_j: at a point not yet adversarial (classified as y,
      // for untargeted criteria) that is f = z_t − z_y, and its gradient is ∇f.
      const q = await this.boundaries(oracle, current, x.shape, criterion.labels, targets, state.classes);
      state.steps++;
      const c = q.classes;
      for (let i = 0; i < n; i++) {
        const z = q.logits.subarray(i * c, (i + 1) * c);
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
          }
          // Step back towards the original: the boundary is closer than this point.
          for (let j = 0; j < row; j++) point[j] = (1 - beta) * x.data[i * row + j]! + beta * point[j]!;
          continue;
        }
        if (step === steps) continue;
        // The linearised boundary is f + w·(x' − x_k) = 0.
        const copy = q.nearest(i, norm);
        const f = q.loss[copy]!;
        const g = q.grad;
        let shift = 0;
        for (let j = 0; j < row; j++) {
          w[j] = g[copy * row + j]!;
          shift += w[j]! * (x.data[i * row + j]! - point[j]!);
        }
        for (let j = 0; j < row; j++) {
          lo[j] = bounds.lower - point[j]!;
          hi[j] = bounds.upper - point[j]!;
        }
        projectOntoHyperplane(w, -f, lo, hi, norm, dk, scratch);
        for (let j = 0; j < row; j++) {
          lo[j] = bounds.lower - x.data[i * row + j]!;
          hi[j] = bounds.upper - x.data[i * row + j]!;
        }
        projectOntoHyperplane(w, -(f + shift), lo, hi, norm, d0, scratch);
        const [nk, n0] = [normOf(dk, norm), normOf(d0, norm)];
        const alpha = nk + n0 > 0 ? Math.min(Math.max(nk / (nk + n0), 0), alphaMax) : 0;
        for (let j = 0; j < row; j++) {
          const next = (1 - alpha) * (point[j]! + eta * dk[j]!) + alpha * (x.data[i * row + j]! + eta * d0[j]!);
          point[j] = Math.min(Math.max(next, bounds.lower), bounds.upper);
        }
      }
    }
  }

  /**
   * f = z_t − z_y and ∇f at the current points: one margin-targeted copy per example towards its
   * target, or, for 'closest' (target −1), one copy per other class. `nearest(i)` is the copy whose
   * linearised boundary is closest to example i, |f| / ‖∇f‖_dual (Algorithm 1's choice of s).
   */
  private async boundaries(
    oracle: GradientOracle,
    current: Float32Array,
    shape: readonly number[],
    labels: Int32Array,
    targets: Int32Array,
    c: number,
  ): Promise<{ logits: Float32Array; classes: number; loss: Float32Array; grad: Float32Array; nearest: (i: number, norm: 'linf' | 'l2') => number }> {
    const n = shape[0]!;
    const row = current.length / Math.max(n, 1);
    if (targets.every((t) => t >= 0)) {
      const r = await oracle.lossAndGrad({ data: current, shape: [...shape] }, labels, 'margin-targeted', targets);
      return { logits: r.logits.data, classes: r.logits.shape[1]!, loss: r.loss, grad: r.grad.data, nearest: (i) => i };
    }
    const others = c - 1;
    const copies = new Float32Array(n * others * row);
    const copyLabels = new Int32Array(n * others);
    const copyTargets = new Int32Array(n * others);
    const rows = new Int32Array(n * others);
    for (let i = 0; i < n; i++) {
      let k = 0;
      for (let t = 0; t < c; t++) {
        if (t === labels[i]) continue;
        const at = i * others + k++;
        copies.set(current.subarray(i * row, (i + 1) * row), at * row);
        copyLabels[at] = labels[i]!;
        copyTargets[at] = t;
        rows[at] = i;
      }
    }
    const r = await oracle.lossAndGrad({ data: copies, shape: [n * others, ...shape.slice(1)] }, copyLabels, 'margin-targeted', copyTargets, rows);
    const logits = new Float32Array(n * c);
    for (let i = 0; i < n; i++) logits.set(r.logits.data.subarray(i * others * c, (i * others + 1) * c), i * c);
    const nearest = (i: number, norm: 'linf' | 'l2'): number => {
      let best = i * others;
      let bestDistance = Infinity;
      for (let k = 0; k < others; k++) {
        const at = i * others + k;
        // The dual norm of the gradient: L1 for L∞ perturbations, L2 for L2.
        let dual = 0;
        for (let j = 0; j < row; j++) {
          const v = r.grad.data[at * row + j]!;
          dual += norm === 'linf' ? Math.abs(v) : v * v;
        }
        const distance = Math.abs(r.loss[at]!) / ((norm === 'linf' ? dual : Math.sqrt(dual)) + 1e-12);
        if (distance < bestDistance) [best, bestDistance] = [at, distance];
      }
      return best;
    };
    return { logits, classes: c, loss: r.loss, grad: r.grad.data, nearest };
  }
}
