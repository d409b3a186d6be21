/**
 * Gradient estimation from scores, shared by the score-based attacks NES (nes.ts) and SPSA
 * (spsa.ts): a finite-difference estimate of the loss gradient along random directions, and the
 * projected ascent loop that drives it under a per-example query budget.
 *
 * Estimate (antithetic pairs, k = samples / 2 directions u per example and step):
 *   ĝ = 1/(2·c·k) · Σ [L(x + c·u) − L(x − c·u)] · u
 * with u standard Gaussian (NES, Ilyas et al. 2018) or Rademacher ±1 (SPSA, Spall 1992 as used by
 * Uesato et al. 2018) and c the smoothing scale (σ or δ). Queried points are clipped to the input
 * bounds, because an endpoint may refuse anything else.
 *
 * The loss is computed from the oracle's scores (logits when it gives them, else log-probabilities,
 * which differ from logits by a constant per row and so give the same margin): 'ce' is the
 * cross-entropy −log p_y (targeted: log p_t); 'margin' is max_{j≠y} z_j − z_y (targeted:
 * z_t − max_{j≠t} z_j). Both grow towards the attacker's goal.
 *
 * Budget: one step costs `samples` queries for the estimate plus one for the new point. An example
 * stops when its next step would exceed the attack's `queries` cap or the oracle's remaining
 * budget, so the oracle never refuses a query. Queries per example are reported in the
 * diagnostics (`queriesPerExample`), for success-versus-queries curves.
 */
import type { Criterion } from '../criteria/criterion.js';
import type { Scores, ScoreOracle } from '../model/oracles.js';
import type { Rng } from '../random.js';
import { gatherRows, rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackResult } from './attack.js';
import { ActiveSet } from './active-set.js';
import { addScaled, BestSoFar } from './best-so-far.js';
import type { OptionRule } from '../options.js';

export const SCORE_LOSSES = ['ce', 'margin'] as const;
export type ScoreLoss = (typeof SCORE_LOSSES)[number];

export type Direction = 'gaussian' | 'rademacher';

/** Option rule for `samples`: an even number ≥ 2 (antithetic pairs). */
export const evenSamples: OptionRule = {
  expected: 'an even integer ≥ 2',
  valid: (v) => Number.isInteger(v) && (v as number) >= 2 && (v as number) % 2 === 0,
};

/** Rows of the oracle's answer as class scores on a log scale: logits, or log-probabilities. */
export function logScores(scores: Scores): Tensor {
  if (scores.logits) return scores.logits;
  const p = scores.probabilities;
  // Float32 probabilities underflow to 0; the floor keeps the loss finite (and ordered).
  return { data: Float32Array.from(p.data, (v) => Math.log(Math.max(v, 1e-38))), shape: [...p.shape] };
}

/** Per-row loss of log-scale scores (row i belongs to example `examples[i]` of the criterion). */
export function scoreLosses(loss: ScoreLoss, criterion: Criterion, z: Tensor, examples: ArrayLike<number>): Float32Array {
  const c = z.shape[1]!;
  const out = new Float32Array(examples.length);
  for (let i = 0; i < examples.length; i++) {
    const row = z.data.subarray(i * c, (i + 1) * c);
    const e = examples[i]!;
    const y = criterion.labels[e]!;
    const t = criterion.targets?.[e];
    if (loss === 'ce') {
      let m = -Infinity;
      for (let j = 0; j < c; j++) m = Math.max(m, row[j]!);
      let s = 0;
      for (let j = 0; j < c; j++) s += Math.exp(row[j]! - m);
      const logSum = m + Math.log(s);
      out[i] = t === undefined ? logSum - row[y]! : row[t]! - logSum;
    } else {
      const own = t === undefined ? y : t;
      let other = -Infinity;
      for (let j = 0; j < c; j++) if (j !== own) other = Math.max(other, row[j]!);
      out[i] = t === undefined ? other - row[y]! : row[t]! - other;
    }
  }
  return out;
}

function fillDirections(out: Float32Array, direction: Direction, rng: Rng): void {
  if (direction === 'gaussian') {
    rng.fillNormal(out);
    return;
  }
  for (let i = 0; i < out.length; i += 32) {
    const bits = rng.nextUint32();
    for (let k = 0; k < 32 && i + k < out.length; k++) out[i + k] = (bits >>> k) & 1 ? 1 : -1;
  }
}

/** Largest number of rows sent to the oracle at once (memory, not correctness). */
const MAX_QUERY_ROWS = 4096;

export interface EstimateOptions {
  /** Queries per example (even: samples / 2 antithetic pairs). */
  readonly samples: number;
  /** Smoothing scale c (NES σ, SPSA δ). */
  readonly scale: number;
  /** Distribution of the directions u: 'gaussian' (NES, Ilyas et al. 2018) or 'rademacher' ±1 (SPSA, Uesato et al. 2018). No default: the attack chooses. */
  readonly direction: Direction;
  /** Loss on the scores: 'ce' (cross-entropy) or 'margin' (C&W). No default: the attack's option. */
  readonly loss: ScoreLoss;
}

/**
 * ĝ for each row of x (row i is example `examples[i]` of the oracle and the criterion); charges
 * `samples` queries per row.
 */
export async function estimateGradient(
  oracle: ScoreOracle,
  x: Tensor,
  examples: Int32Array,
  criterion: Criterion,
  options: EstimateOptions,
  rng: Rng,
): Promise<Tensor> {
  const { scale, direction, loss } = options;
  const pairs = Math.max(1, Math.floor(options.samples / 2));
  const row = rowSize(x);
  const m = examples.length;
  const grad = new Float32Array(x.data.length);
  const { lower, upper } = oracle.bounds;
  const perChunk = Math.max(1, Math.floor(MAX_QUERY_ROWS / (2 * m)));
  for (let p0 = 0; p0 < pairs; p0 += perChunk) {
    const k = Math.min(perChunk, pairs - p0);
    // Rows: for each pair q and example i, x_i + c·u and then x_i − c·u.
    const u = new Float32Array(k * m * row);
    fillDirections(u, direction, rng);
    const points = new Float32Array(2 * k * m * row);
    const rows = new Int32Array(2 * k * m);
    for (let q = 0; q < k; q++) {
      for (let i = 0; i < m; i++) {
        const dir = (q * m + i) * row;
        const plus = 2 * (q * m + i);
        for (let j = 0; j < row; j++) {
          const v = x.data[i * row + j]!;
          const d = scale * u[dir + j]!;
          points[plus * row + j] = Math.min(upper, Math.max(lower, v + d));
          points[(plus + 1) * row + j] = Math.min(upper, Math.max(lower, v - d));
        }
        rows[plus] = examples[i]!;
        rows[plus + 1] = examples[i]!;
      }
    }
    const z = logScores(await oracle.scores({ data: points, shape: [2 * k * m, ...x.shape.slice(1)] }, rows));
    const losses = scoreLosses(loss, criterion, z, rows);
    for (let q = 0; q < k; q++) {
      for (let i = 0; i < m; i++) {
        const plus = 2 * (q * m + i);
        const w = (losses[plus]! - losses[plus + 1]!) / (2 * scale * pairs);
        if (w === 0) continue;
        const dir = (q * m + i) * row;
        for (let j = 0; j < row; j++) grad[i * row + j]! += w * u[dir + j]!;
      }
    }
  }
  return { data: grad, shape: [...x.shape] };
}

/** How the ascent moves given an estimated gradient (state is per example, addressed by index). */
export interface AscentUpdate {
  /** The next point before projection, for rows of `xk` (row i is example active[i]). */
  step(active: Int32Array, xk: Tensor, grad: Tensor): Tensor;
}

export interface AscentOptions extends EstimateOptions {
  /** Most iterations (undefined: until the query budget ends). */
  readonly steps: number | undefined;
  /** Most queries per example, the attack's own cap. */
  readonly queries: number;
  /** Start at a uniform random point of the ε-ball (false: at x). No default: the attack's option. */
  readonly randomStart: boolean;
}

/**
 * Projected ascent on estimated gradients: per example the first adversarial point found is kept,
 * else the point of highest loss. Examples stop when adversarial or out of queries.
 */
export async function estimatedGradientAscent(
  attack: string,
  oracle: ScoreOracle,
  x: Tensor,
  criterion: Criterion,
  ctx: AttackContext,
  options: AscentOptions,
  update: AscentUpdate,
): Promise<AttackResult> {
  const { eps, norm, rng } = ctx;
  const n = x.shape[0]!;
  const best = new BestSoFar(x, criterion);
  const used = new Int32Array(n);
  const stepCost = options.samples + 1;
  const canAfford = (e: number, cost: number): boolean => used[e]! + cost <= options.queries && oracle.remainingQueries(e) >= cost;
  const maxSteps = options.steps ?? Infinity;

  const affordable = Int32Array.from({ length: n }, (_, i) => i).filter((e) => canAfford(e, 1));
  const x0 = gatherRows(x, affordable);
  const set = new ActiveSet(affordable, { x0, xk: options.randomStart ? norm.randomStart(x0, eps, rng, oracle.bounds) : x0 });
  const s = set.state;
  let evaluated = false;
  for (let step = 0; set.size > 0; step++) {
    ctx.signal?.throwIfAborted();
    if (!evaluated) {
      const z = logScores(await oracle.scores(s.xk, set.examples));
      for (const e of set.examples) used[e]!++;
      const losses = scoreLosses(options.loss, criterion, z, set.examples);
      const done = best.observe(set.examples, s.xk, z, losses);
      evaluated = true;
      // Keep the examples still robust that can pay for another step.
      const remaining = set.retain((e, i) => !done[i] && canAfford(e, stepCost));
      ctx.onProgress?.({ step, steps: options.steps ?? 0, remaining, stage: attack });
    }
    if (set.size === 0 || step >= maxSteps) break;
    const grad = await estimateGradient(oracle, s.xk, set.examples, criterion, options, rng);
    for (const e of set.examples) used[e]! += options.samples;
    best.steps++;
    s.xk = norm.project(s.x0, update.step(set.examples, s.xk, grad), eps, oracle.bounds);
    evaluated = false;
  }
  const result = best.result();
  return {
    ...result,
    diagnostics: { initialLoss: best.initialLoss, bestLoss: best.bestLoss, queriesPerExample: used },
  };
}

/** A sign (L∞) or normalised (L2) step of fixed size along the estimate: PGD on ĝ. */
export function normalizedStep(norm: AttackContext['norm'], alpha: number): AscentUpdate {
  return {
    step: (_active, xk, grad) => addScaled(xk, norm.normalizeGradient(grad), alpha),
  };
}
