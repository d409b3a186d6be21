/**
 * HopSkipJump — a decision-based minimization attack: it sees only the predicted class. Starting
 * from an adversarial point, each iteration (1) binary-searches along the segment to x for the
 * decision boundary, (2) estimates the direction of the boundary's normal there by Monte-Carlo
 * sampling (B₀·√t random unit directions of size δ_t, each answered adversarial or not, with the
 * mean answer subtracted as a baseline), and (3) steps along that direction with a step size found
 * by a geometric (halving) or grid search, so that the point stays adversarial. The distance to x
 * shrinks with every iteration; the closest adversarial point found is returned.
 *
 * Paper: Chen, Jordan & Wainwright, "HopSkipJumpAttack: A Query-Efficient Decision-Based Attack",
 * IEEE S&P 2020, https://arxiv.org/abs/1904.02144 (Algorithm 2; choices of θ, δ_t and B_t in
 * Section 4; the authors' reference implementation for the initialisation).
 *
 * Threat model: decision-only black box (DecisionOracle); L2 or L∞ (the norm of the run);
 * untargeted only (the initialisation is uniform noise that the model misclassifies; a targeted
 * run would need an image of the target class to start from).
 *
 * Options (defaults from the paper and its reference implementation):
 * - `queries` 5000 — most queries per example (also bounded by the oracle's remaining budget);
 *   the attack stops an example there and returns its best adversarial point so far.
 * - `steps` 40 — iterations at most (the reference's `num_iterations`).
 * - `initialEvals` 100 — B₀: iteration t estimates the gradient from ⌊B₀·√t⌋ samples …
 * - `maxEvals` 10000 — … but never more than this.
 * - `gamma` 1 — γ: binary-search threshold θ = γ/d^{3/2} (L2) or γ/d² (L∞) for d features;
 *   the sampling radius is δ_t = √d·θ·d_{t−1} (L2) or d·θ·d_{t−1} (L∞), δ₁ = 0.1·(upper − lower).
 * - `stepsizeSearch` 'geometric' — start at ξ = d_{t−1}/√t and halve until adversarial; 'grid'
 *   tries ξ ∈ d_{t−1}·logspace(−4, 0, 20) at once and binary-searches every adversarial one.
 * - `initAttempts` 100 — uniform-noise draws per example for the starting point; an example with
 *   no misclassified draw is returned unchanged (success 0).
 *
 * The starting point is the noise blended towards x by a binary search on the blend weight (to
 * 0.001); every point the attack keeps was answered adversarial by the oracle, so the result
 * needs no further check. Examples run in lockstep and share batched queries (rows tell the
 * oracle which example each query is for); each example draws from its own RNG stream, so its
 * result does not depend on the others.
 *
 * @example
 * ```ts
 * const hsj = new HopSkipJumpAttack({ queries: 5000 });
 * const outcome = await runAttack(hsj, decisionOracle(model, { queryBudget: 5000 }), x, labels, { eps: [0.5, 1, 2], norm: 'l2', seed: 1 });
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import type { Bounds } from '../model/bounds.js';
import type { DecisionOracle } from '../model/oracles.js';
import type { NormName } from '../norms/norm.js';
import type { Rng } from '../random.js';
import { rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { oneOf, positiveInteger, positiveNumber } from '../options.js';
import { ActiveSet } from './active-set.js';

export type StepsizeSearch = 'geometric' | 'grid';

export interface HopSkipJumpOptions {
  /** Most queries per example (also bounded by the oracle's remaining budget); the example then returns its best adversarial point so far. Default 5000. */
  readonly queries: number;
  /** Iterations at most (the reference's num_iterations). Default 40 (Chen, Jordan & Wainwright 2020). */
  readonly steps: number;
  /** B₀: iteration t estimates the gradient from ⌊B₀·√t⌋ samples. Default 100 (Chen, Jordan & Wainwright 2020). */
  readonly initialEvals: number;
  /** The most samples of one gradient estimate. Default 10000 (Chen, Jordan & Wainwright 2020). */
  readonly maxEvals: number;
  /** γ: binary-search threshold θ = γ/d^{3/2} (L2) or γ/d² (L∞) for d features; it also sets the sampling radius. Default 1 (Chen, Jordan & Wainwright 2020). */
  readonly gamma: number;
  /** 'geometric' (start at ξ = d_{t−1}/√t and halve until adversarial) or 'grid' (ξ ∈ d_{t−1}·logspace(−4, 0, 20) at once). Default 'geometric' (Chen, Jordan & Wainwright 2020). */
  readonly stepsizeSearch: StepsizeSearch;
  /** Uniform-noise draws per example for the starting point; an example with no misclassified draw is returned unchanged. Default 100 (the reference implementation). */
  readonly initAttempts: number;
}

export const HOP_SKIP_JUMP_DEFAULTS: HopSkipJumpOptions = Object.freeze({
  queries: 5000,
  steps: 40,
  initialEvals: 100,
  maxEvals: 10000,
  gamma: 1,
  stepsizeSearch: 'geometric',
  initAttempts: 100,
});

/** Rows per oracle call: bounds the memory of one forward pass. */
const QUERY_BATCH = 512;
/** The blend search of the initialisation stops at this width (the reference's 0.001). */
const BLEND_TOLERANCE = 0.001;
/** The geometric step-size search gives up after this many halvings (ξ/2^25 moves nothing). */
const MAX_HALVINGS = 25;
/** Grid search: ξ = d_{t−1}·10^{−4…0} in this many steps. */
const GRID_SIZE = 20;

/** One batch of candidate points, row j belonging to example owner[j]. */
interface Candidates {
  readonly points: Float32Array;
  readonly owner: Int32Array;
}

/**
 * The state of one run: the oracle, each example's query account (capped by `queries` and the
 * oracle's own budget) and batched decision queries. Made per call; the attack stores none of it.
 */
class DecisionQueries {
  readonly used: Int32Array;
  private readonly limit: Float64Array;
  private readonly oneHot: Float32Array;

  constructor(
    private readonly oracle: DecisionOracle,
    private readonly criterion: Criterion,
    private readonly exampleShape: readonly number[],
    n: number,
    queries: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.used = new Int32Array(n);
    this.limit = Float64Array.from({ length: n }, (_, e) => Math.min(queries, oracle.remainingQueries(e)));
    this.oneHot = new Float32Array(oracle.numClasses);
  }

  left(e: number): number {
    return this.limit[e]! - this.used[e]!;
  }

  /** 1 where the point is adversarial for its owner. The caller has checked every owner's budget. */
  async ask({ points, owner }: Candidates): Promise<Uint8Array> {
    const row = points.length / Math.max(owner.length, 1);
    const out = new Uint8Array(owner.length);
    for (let start = 0; start < owner.length; start += QUERY_BATCH) {
      this.signal?.throwIfAborted();
      const end = Math.min(owner.length, start + QUERY_BATCH);
      const rows = owner.subarray(start, end);
      const classes = await this.oracle.predict({ data: points.subarray(start * row, end * row), shape: [end - start, ...this.exampleShape] }, rows);
      for (let i = 0; i < rows.length; i++) {
        const e = rows[i]!;
        this.used[e]!++;
        this.oneHot[classes[i]!] = 1;
        out[start + i] = this.criterion.isAdversarial(this.oneHot, e) ? 1 : 0;
        this.oneHot[classes[i]!] = 0;
      }
    }
    return out;
  }
}

/** Builds candidate batches row by row. */
class CandidateBuilder {
  private readonly points: Float32Array[] = [];
  private readonly owners: number[] = [];

  add(owner: number, point: Float32Array): void {
    this.owners.push(owner);
    this.points.push(point.slice());
  }

  get length(): number {
    return this.owners.length;
  }

  build(row: number): Candidates {
    const points = new Float32Array(this.owners.length * row);
    this.points.forEach((p, j) => points.set(p, j * row));
    return { points, owner: Int32Array.from(this.owners) };
  }
}

function clip(v: number, bounds: Bounds): number {
  return Math.min(Math.max(v, bounds.lower), bounds.upper);
}

export class HopSkipJumpAttack extends ConfiguredAttack<DecisionOracle, HopSkipJumpOptions> {
  constructor(options: Partial<HopSkipJumpOptions> = {}) {
    super({ name: 'hsj', kind: 'minimization', oracleKind: 'decision', norms: ['l2', 'linf'], targeted: false }, HOP_SKIP_JUMP_DEFAULTS, options, {
      queries: positiveInteger,
      steps: positiveInteger,
      initialEvals: positiveInteger,
      maxEvals: positiveInteger,
      gamma: positiveNumber,
      stepsizeSearch: oneOf<StepsizeSearch>(['geometric', 'grid']),
      initAttempts: positiveInteger,
    });
  }

  async run(oracle: DecisionOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const { norm } = ctx;
    const { steps, initialEvals, maxEvals, gamma, stepsizeSearch } = this.options;
    const n = x.shape[0]!;
    const row = rowSize(x);
    const exampleShape = x.shape.slice(1);
    const bounds = oracle.bounds;
    const q = new DecisionQueries(oracle, criterion, exampleShape, n, this.options.queries, ctx.signal);
    const rngs = Array.from({ length: n }, (_, e) => ctx.rng.fork('hop-skip-jump', e));
    const linf = norm.name === 'linf';
    const theta = linf ? gamma / (row * row) : gamma / (Math.sqrt(row) * row);
    const distances = (points: Float32Array, owner: Int32Array): Float64Array => {
      const origin = new Float32Array(points.length);
      for (let j = 0; j < owner.length; j++) origin.set(x.data.subarray(owner[j]! * row, (owner[j]! + 1) * row), j * row);
      return norm.distance({ data: points, shape: [owner.length, ...exampleShape] }, { data: origin, shape: [owner.length, ...exampleShape] });
    };

    const best = Float32Array.from(x.data);
    const bestDist = new Float64Array(n).fill(Infinity);
    const success = new Uint8Array(n);
    const current = new Float32Array(x.data.length);
    const currentDist = new Float64Array(n);
    const keep = (e: number, point: Float32Array, dist: number): void => {
      current.set(point, e * row);
      currentDist[e] = dist;
      if (dist < bestDist[e]!) {
        bestDist[e] = dist;
        best.set(point, e * row);
        success[e] = 1;
      }
    };
    const toBoundary = async (c: Candidates, step: number, stage: string, mode: 'init' | 'boundary'): Promise<void> => {
      const found = await this.boundarySearch(q, x, c, mode === 'init' ? 'blend' : norm.name, mode === 'init' ? undefined : theta, distances);
      const bestOf = new Map<number, number>();
      for (let j = 0; j < c.owner.length; j++) {
        const e = c.owner[j]!;
        const k = bestOf.get(e);
        if (k === undefined || found.dist[j]! < found.dist[k]!) bestOf.set(e, j);
      }
      for (const [e, j] of bestOf) keep(e, found.points.subarray(j * row, (j + 1) * row), found.dist[j]!);
      ctx.onProgress?.({ step, steps, remaining: n - success.reduce((s, b) => s + b, 0), stage });
    };

    // Initialisation: uniform noise that is misclassified, blended towards x, then on the boundary.
    const noise = new Float32Array(x.data.length);
    const started = new Uint8Array(n);
    for (let attempt = 0; attempt < this.options.initAttempts; attempt++) {
      const draws = new CandidateBuilder();
      const point = new Float32Array(row);
      for (let e = 0; e < n; e++) {
        if (started[e] || q.left(e) < 1) continue;
        for (let j = 0; j < row; j++) point[j] = rngs[e]!.uniformIn(bounds.lower, bounds.upper);
        draws.add(e, point);
      }
      if (draws.length === 0) break;
      const c = draws.build(row);
      const adversarial = await q.ask(c);
      for (let j = 0; j < c.owner.length; j++) {
        if (!adversarial[j]) continue;
        started[c.owner[j]!] = 1;
        noise.set(c.points.subarray(j * row, (j + 1) * row), c.owner[j]! * row);
      }
    }
    const startedRows = Int32Array.from({ length: n }, (_, e) => e).filter((e) => started[e]);
    const noiseRows: Candidates = { points: new Float32Array(startedRows.length * row), owner: startedRows };
    startedRows.forEach((e, j) => noiseRows.points.set(noise.subarray(e * row, (e + 1) * row), j * row));
    await toBoundary(noiseRows, 0, 'initialisation: blend', 'init');
    const blended: Candidates = { points: new Float32Array(startedRows.length * row), owner: startedRows };
    startedRows.forEach((e, j) => blended.points.set(current.subarray(e * row, (e + 1) * row), j * row));
    await toBoundary(blended, 0, 'initialisation: boundary', 'boundary');

    // Queries an iteration needs besides the gradient estimate: the boundary search and one step.
    const searchQueries = (e: number): number =>
      Math.ceil(Math.log2((linf ? Math.max(1, currentDist[e]!) : 1) / theta)) + (stepsizeSearch === 'grid' ? GRID_SIZE : 1);
    // The state of every example lives in the batch-sized arrays above, so the set holds only indices.
    const set = new ActiveSet(startedRows, {});
    let iterations = 0;
    for (let t = 1; t <= steps && set.size > 0; t++) {
      ctx.signal?.throwIfAborted();
      const evals = Math.min(Math.floor(initialEvals * Math.sqrt(t)), maxEvals);
      const samples = new Int32Array(n);
      for (const e of set.examples) samples[e] = Math.max(0, Math.min(evals, q.left(e) - searchQueries(e)));
      if (set.retain((e) => samples[e]! > 0) === 0) break;
      const active = set.examples;
      iterations = t;
      const delta = new Float64Array(n);
      for (const e of active) delta[e] = t === 1 ? 0.1 * (bounds.upper - bounds.lower) : (gamma * currentDist[e]!) / row;
      const grad = await this.estimateGradient(q, current, active, samples, delta, rngs, linf, bounds, row);
      ctx.onProgress?.({ step: t, steps, remaining: n - success.reduce((s, b) => s + b, 0), stage: `iteration ${t}: gradient (${evals} samples)` });

      const update = new Float32Array(x.data.length);
      for (const e of active) {
        for (let j = e * row; j < (e + 1) * row; j++) update[j] = linf ? Math.sign(grad[j]!) : grad[j]!;
      }
      const stepped =
        stepsizeSearch === 'geometric'
          ? await this.geometricStep(q, current, currentDist, update, active, t, bounds, row)
          : await this.gridStep(q, current, currentDist, update, active, bounds, row);
      if (stepped.owner.length > 0) await toBoundary(stepped, t, `iteration ${t}: boundary`, 'boundary');
    }

    return {
      adversarial: { data: best, shape: [...x.shape] },
      success,
      steps: iterations,
      diagnostics: { queriesPerExample: Int32Array.from(q.used) },
    };
  }

  /**
   * Binary search on the segment from each candidate's x towards the candidate (adversarial) for
   * the decision boundary; returns the adversarial end of the final interval and its distance.
   * 'blend' moves the blend weight α of (1 − α)·x + α·p to width 0.001 (the initialisation);
   * 'l2' does the same to width θ; 'linf' clips p to the box of radius α around x, α from
   * ‖p − x‖∞ down to width min(θ·‖p − x‖∞, θ). A candidate whose owner runs out of queries
   * stops where it is.
   */
  private async boundarySearch(
    q: DecisionQueries,
    x: Tensor,
    c: Candidates,
    mode: 'blend' | NormName,
    theta: number | undefined,
    distances: (points: Float32Array, owner: Int32Array) => Float64Array,
  ): Promise<{ points: Float32Array; dist: Float64Array }> {
    const m = c.owner.length;
    const row = rowSize(x);
    const low = new Float64Array(m);
    const high = new Float64Array(m).fill(1);
    const threshold = new Float64Array(m).fill(mode === 'blend' ? BLEND_TOLERANCE : theta!);
    if (mode === 'linf') {
      const d = distances(c.points, c.owner);
      for (let j = 0; j < m; j++) {
        high[j] = d[j]!;
        threshold[j] = Math.min(d[j]! * theta!, theta!);
      }
    }
    const project = (j: number, alpha: number, out: Float32Array, at: number): void => {
      const p = j * row;
      const o = c.owner[j]! * row;
      for (let i = 0; i < row; i++) {
        const x0 = x.data[o + i]!;
        const v = c.points[p + i]!;
        out[at + i] = mode === 'linf' ? Math.min(Math.max(v, x0 - alpha), x0 + alpha) : (1 - alpha) * x0 + alpha * v;
      }
    };
    for (;;) {
      const planned = new Map<number, number>();
      const rows: number[] = [];
      for (let j = 0; j < m; j++) {
        const e = c.owner[j]!;
        if (high[j]! - low[j]! <= threshold[j]! || q.left(e) - (planned.get(e) ?? 0) < 1) continue;
        planned.set(e, (planned.get(e) ?? 0) + 1);
        rows.push(j);
      }
      if (rows.length === 0) break;
      const mids = new Float32Array(rows.length * row);
      rows.forEach((j, k) => project(j, (low[j]! + high[j]!) / 2, mids, k * row));
      const adversarial = await q.ask({ points: mids, owner: Int32Array.from(rows, (j) => c.owner[j]!) });
      rows.forEach((j, k) => {
        const mid = (low[j]! + high[j]!) / 2;
        if (adversarial[k]) high[j] = mid;
        else low[j] = mid;
      });
    }
    // α = high is the last point answered adversarial (or the candidate itself): recomputing it
    // gives the very values that were queried.
    const points = new Float32Array(m * row);
    for (let j = 0; j < m; j++) project(j, high[j]!, points, j * row);
    return { points, dist: distances(points, c.owner) };
  }

  /**
   * Monte-Carlo estimate of the boundary normal at each active example's current point: the mean
   * of φ(x + δu)·u over random unit directions u (Gaussian for L2, uniform in the cube for L∞,
   * both scaled to unit L2 length and clipped to the bounds), φ = ±1, with the mean of φ
   * subtracted (the paper's baseline) unless all answers agree. Returns unit-L2 rows.
   */
  private async estimateGradient(
    q: DecisionQueries,
    current: Float32Array,
    active: Int32Array,
    samples: Int32Array,
    delta: Float64Array,
    rngs: readonly Rng[],
    linf: boolean,
    bounds: Bounds,
    row: number,
  ): Promise<Float64Array> {
    const sumU = new Float64Array(current.length);
    const sumFU = new Float64Array(current.length);
    const positives = new Int32Array(samples.length);
    const direction = new Float64Array(row);
    // Examples one after the other, in chunks of rows: the draws do not depend on the chunking.
    let k = 0;
    let s = 0;
    while (k < active.length) {
      const owner: number[] = [];
      const points = new Float32Array(QUERY_BATCH * row);
      while (k < active.length && owner.length < QUERY_BATCH) {
        const e = active[k]!;
        const rng = rngs[e]!;
        let sq = 0;
        for (let j = 0; j < row; j++) {
          const v = linf ? rng.uniformIn(-1, 1) : rng.normal();
          direction[j] = v;
          sq += v * v;
        }
        const scale = sq > 0 ? delta[e]! / Math.sqrt(sq) : 0;
        const at = owner.length * row;
        for (let j = 0; j < row; j++) points[at + j] = clip(current[e * row + j]! + scale * direction[j]!, bounds);
        owner.push(e);
        if (++s >= samples[e]!) {
          s = 0;
          k++;
        }
      }
      const rows = Int32Array.from(owner);
      const adversarial = await q.ask({ points: points.subarray(0, rows.length * row), owner: rows });
      for (let r = 0; r < rows.length; r++) {
        const e = rows[r]!;
        const f = adversarial[r] ? 1 : -1;
        if (adversarial[r]) positives[e]!++;
        // The direction actually taken, after clipping, in units of δ.
        for (let j = 0; j < row; j++) {
          const u = (points[r * row + j]! - current[e * row + j]!) / delta[e]!;
          sumU[e * row + j] += u;
          sumFU[e * row + j] += f * u;
        }
      }
    }
    const grad = new Float64Array(current.length);
    for (const e of active) {
      const b = samples[e]!;
      const meanF = (2 * positives[e]! - b) / b;
      let sq = 0;
      for (let j = e * row; j < (e + 1) * row; j++) {
        // Σ(φ − φ̄)u = Σφu − φ̄Σu; when every answer agrees this is 0, and the paper uses ±Σu.
        const g = meanF === 1 ? sumU[j]! : meanF === -1 ? -sumU[j]! : sumFU[j]! - meanF * sumU[j]!;
        grad[j] = g;
        sq += g * g;
      }
      const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
      for (let j = e * row; j < (e + 1) * row; j++) grad[j] = grad[j]! * inv;
    }
    return grad;
  }

  /** ξ = d_{t−1}/√t, halved until x_t + ξ·v is adversarial; examples that never get there stay put. */
  private async geometricStep(
    q: DecisionQueries,
    current: Float32Array,
    currentDist: Float64Array,
    update: Float32Array,
    active: Int32Array,
    t: number,
    bounds: Bounds,
    row: number,
  ): Promise<Candidates> {
    const xi = new Float64Array(currentDist.length);
    for (const e of active) xi[e] = currentDist[e]! / Math.sqrt(t);
    const accepted = new CandidateBuilder();
    let pending = active.filter((e) => q.left(e) >= 1);
    const point = new Float32Array(row);
    for (let halving = 0; halving <= MAX_HALVINGS && pending.length > 0; halving++) {
      const tries = new CandidateBuilder();
      for (const e of pending) {
        for (let j = 0; j < row; j++) point[j] = clip(current[e * row + j]! + xi[e]! * update[e * row + j]!, bounds);
        tries.add(e, point);
      }
      const c = tries.build(row);
      const adversarial = await q.ask(c);
      const next: number[] = [];
      for (let j = 0; j < c.owner.length; j++) {
        const e = c.owner[j]!;
        if (adversarial[j]) accepted.add(e, c.points.subarray(j * row, (j + 1) * row));
        else if (q.left(e) >= 1) {
          xi[e] = xi[e]! / 2;
          next.push(e);
        }
      }
      pending = Int32Array.from(next);
    }
    return accepted.build(row);
  }

  /** ξ over a log grid of d_{t−1}·[10⁻⁴, 1]; every adversarial point goes on to the boundary search. */
  private async gridStep(
    q: DecisionQueries,
    current: Float32Array,
    currentDist: Float64Array,
    update: Float32Array,
    active: Int32Array,
    bounds: Bounds,
    row: number,
  ): Promise<Candidates> {
    const tries = new CandidateBuilder();
    const point = new Float32Array(row);
    for (const e of active) {
      const count = Math.min(GRID_SIZE, q.left(e));
      for (let g = 0; g < count; g++) {
        const xi = currentDist[e]! * Math.pow(10, -4 + (4 * g) / (GRID_SIZE - 1));
        for (let j = 0; j < row; j++) point[j] = clip(current[e * row + j]! + xi * update[e * row + j]!, bounds);
        tries.add(e, point);
      }
    }
    const c = tries.build(row);
    const adversarial = await q.ask(c);
    const accepted = new CandidateBuilder();
    for (let j = 0; j < c.owner.length; j++) if (adversarial[j]) accepted.add(c.owner[j]!, c.points.subarray(j * row, (j + 1) * row));
    return accepted.build(row);
  }
}
