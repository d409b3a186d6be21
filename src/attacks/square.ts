/**
 * Square — a score-based black-box attack by random search. Each iteration changes the current
 * perturbation inside one randomly placed square window (all channels) and keeps the change only if
 * it lowers the margin loss; the window's side shrinks on a fixed schedule. Every candidate sits on
 * the boundary of the ε-ball, so the search spends its queries where adversarial examples are.
 * - L∞: start from vertical stripes of ±ε (one sign per column and channel); a candidate sets the
 *   window to a random ±ε per channel.
 * - L2: start from a grid of tiles, each a centred "meta-pattern" (two opposite-sign pseudo-Gaussian
 *   bumps) with a random sign per channel; a candidate adds a new meta-pattern to window 1, moves
 *   the mass of window 2 into it (window 2 is zeroed) and rescales the whole perturbation to ‖·‖₂ = ε.
 *
 * Paper: Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient black-box
 * adversarial attack via random search", ECCV 2020, https://arxiv.org/abs/1912.00049
 * (Algorithms 1–3; the p schedule and the L2 meta-pattern follow the authors' reference code).
 *
 * Threat model: score-based black box (ScoreOracle); L∞ or L2; untargeted or targeted (the
 * criterion decides). Image inputs (N, C, H, W) or (N, H, W) with H, W ≥ 2.
 *
 * Loss (minimised): the margin z_y − max_{j≠y} z_j, or max_{j≠t} z_j − z_t for target t, on the
 * logits when the oracle gives them, else on log-probabilities (equal up to rounding, since
 * softmax only shifts logits; probabilities saturate sooner).
 *
 * Options (defaults from the paper and AutoAttack's Square):
 * - `queries` 5000 — most queries per example and restart (the initial point counts as one).
 * - `pInit` unset — initial fraction of pixels in the window: 0.8 for L∞ (the paper's MNIST value,
 *   AutoAttack's default), 0.1 for L2 (the paper's L2 value). The fraction is halved at iterations
 *   10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of 10 000, scaled to each example's horizon.
 * - `restarts` 1 — independent runs; only examples still robust (and with queries left) go again.
 * - `lossOn` 'auto' — 'logits', 'probabilities' (log-probabilities), or 'auto' (logits if given).
 *
 * Budget: an example is never queried beyond min(`queries`, the oracle's remaining budget); the
 * schedule is scaled to that horizon, so a tight oracle budget compresses it instead of cutting
 * it off. All examples still searching share one oracle call per iteration. An example stops at
 * its first adversarial point; a failure returns its lowest-loss point. `steps` counts oracle
 * calls; diagnostics carry the queries spent per example.
 *
 * @example
 * ```ts
 * const square = new SquareAttack({ queries: 5000 });
 * const outcome = await runAttack(square, scoreOracle(model, { queryBudget: 5000 }), x, labels, { eps: 0.3, norm: 'linf', seed: 0 });
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import { GibbonError } from '../errors.js';
import type { Bounds } from '../model/bounds.js';
import type { Scores, ScoreOracle } from '../model/oracles.js';
import type { NormName } from '../norms/norm.js';
import type { Rng } from '../random.js';
import { gatherRows, rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackFacts, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { numberIn, oneOf, optional, positiveInteger } from '../options.js';

export const SQUARE_LOSS_ON = ['auto', 'logits', 'probabilities'] as const;
export type SquareLossOn = (typeof SQUARE_LOSS_ON)[number];

export interface SquareOptions {
  /** Most queries per example and restart (the initial point counts as one). Default 5000 (Andriushchenko et al. 2020; AutoAttack's Square). */
  readonly queries: number;
  /** Initial fraction of pixels in the square window, halved on the paper's schedule. Default unset: 0.8 for L∞ (the paper's MNIST value, AutoAttack's default), 0.1 for L2 (Andriushchenko et al. 2020). */
  readonly pInit: number | undefined;
  /** Independent runs; only examples still robust (and with queries left) go again. Default 1. */
  readonly restarts: number;
  /** Scores the margin loss is computed on: 'logits', 'probabilities' (log-probabilities), or 'auto' (logits when the oracle gives them). Default 'auto'. */
  readonly lossOn: SquareLossOn;
}

export const SQUARE_DEFAULTS: SquareOptions = Object.freeze({
  queries: 5000,
  pInit: undefined,
  restarts: 1,
  lossOn: 'auto',
});

/** Initial window fraction per norm when `pInit` is unset. */
export const SQUARE_P_INIT: Readonly<Record<NormName, number>> = Object.freeze({ linf: 0.8, l2: 0.1 });

/** Iterations (of 10 000) after which the window fraction halves again. */
const HALVINGS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];

/** Fraction of pixels in the window at `iteration` (0-based) of a run of `horizon` queries. */
export function squareFraction(pInit: number, iteration: number, horizon: number): number {
  const t = Math.floor((iteration / horizon) * 10000);
  if (t > 10000) return pInit;
  let halvings = 0;
  for (const h of HALVINGS) if (t > h) halvings++;
  return pInit / 2 ** halvings;
}

interface Geometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/**
 * The search space of one example: an image (C, H, W) or (H, W) with H, W ≥ 2 gets square windows;
 * anything else (features (L), audio (1, L) or (C, 1, L), volumes) is searched as one row of
 * `width` values with windows of consecutive values — the 1-D variant of the attack.
 */
function exampleGeometry(shape: readonly number[], attack: string): Geometry {
  const dims = shape.slice(1);
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims.length === 3 && dims[1]! >= 2 && dims[2]! >= 2) return { channels: dims[0]!, height: dims[1]!, width: dims[2]! };
  if (dims.length === 2 && dims[0]! >= 2 && dims[1]! >= 2) return { channels: 1, height: dims[0]!, width: dims[1]! };
  if (dims.length === 3 && dims[1] === 1 && dims[2]! >= 2) return { channels: dims[0]!, height: 1, width: dims[2]! };
  if (size < 2) throw new GibbonError('invalid_input', `${attack} needs at least 2 input values per example; got [${shape.join(', ')}]`, { option: 'x' });
  return { channels: 1, height: 1, width: size };
}

/** Window sides (rows, columns) covering about a fraction `p` of the example, at least `least` long. */
function windowSides(p: number, { height, width }: Geometry, least: number): readonly [number, number] {
  if (height === 1) return [1, Math.min(Math.max(Math.round(p * width), least), width)];
  const s = Math.min(Math.max(Math.round(Math.sqrt(p * height * width)), least), height, width);
  return [s, s];
}

/**
 * A pseudo-Gaussian bump on an h×w rectangle: the value at Chebyshev distance m from the centre is
 * Σ_{k=m}^{K−1} 1/(k+1)², K = max(⌊h/2⌋, ⌊w/2⌋) + 1, normalised to unit L2 norm.
 */
function bump(h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  const [ch, cw] = [Math.floor(h / 2), Math.floor(w / 2)];
  const k = Math.max(ch, cw) + 1;
  const tail = new Float64Array(k + 1);
  for (let m = k - 1; m >= 0; m--) tail[m] = tail[m + 1]! + 1 / (m + 1) ** 2;
  let s = 0;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const v = tail[Math.max(Math.abs(i - ch), Math.abs(j - cw))]!;
      out[i * w + j] = v;
      s += v * v;
    }
  }
  const scale = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return out;
}

/** The s×s meta-pattern: a bump on the top half and a negated bump on the bottom half, unit norm. */
export function squareMetaPattern(s: number): Float64Array {
  const top = Math.floor(s / 2);
  const out = new Float64Array(s * s);
  out.set(bump(top, s), 0);
  const bottom = bump(s - top, s);
  for (let i = 0; i < bottom.length; i++) out[top * s + i] = -bottom[i]!;
  let n = 0;
  for (const v of out) n += v * v;
  for (let i = 0; i < out.length; i++) out[i]! /= Math.sqrt(n);
  return out;
}

/** The 1-D meta-pattern of length s: a bump on the first half and a negated bump on the second, unit norm. */
export function lineMetaPattern(s: number): Float64Array {
  const half = Math.floor(s / 2);
  const out = new Float64Array(s);
  out.set(bump(1, half), 0);
  const second = bump(1, s - half);
  for (let i = 0; i < second.length; i++) out[half + i] = -second[i]!;
  let n = 0;
  for (const v of out) n += v * v;
  for (let i = 0; i < out.length; i++) out[i]! /= Math.sqrt(n);
  return out;
}

function transposed(pattern: Float64Array, s: number): Float64Array {
  const out = new Float64Array(s * s);
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) out[j * s + i] = pattern[i * s + j]!;
  return out;
}

/**
 * Meta-patterns by window (rows × columns): s×s squares and their transposes (the paper picks
 * either orientation at random), 1×s lines and their reverses.
 */
class PatternCache {
  private readonly cache = new Map<string, readonly [Float64Array, Float64Array]>();

  get(rows: number, cols: number, rng: Rng): Float64Array {
    const key = `${rows}x${cols}`;
    let pair = this.cache.get(key);
    if (!pair) {
      const p = rows === 1 ? lineMetaPattern(cols) : squareMetaPattern(cols);
      pair = [p, rows === 1 ? p.slice().reverse() : transposed(p, cols)];
      this.cache.set(key, pair);
    }
    return pair[rng.integer(2)]!;
  }
}

/** What one restart shares with the whole run. */
interface RunState {
  readonly adversarial: Float32Array;
  readonly success: Uint8Array;
  readonly bestLoss: Float64Array;
  readonly queries: Int32Array;
  steps: number;
}

export class SquareAttack extends ConfiguredAttack<ScoreOracle, SquareOptions> {
  constructor(options: Partial<SquareOptions> = {}) {
    super({ name: 'square', kind: 'fixed-epsilon', oracleKind: 'score', norms: ['linf', 'l2'], targeted: true }, SQUARE_DEFAULTS, options, {
      queries: positiveInteger,
      pInit: optional(numberIn(0, 1, { openLow: true })),
      restarts: positiveInteger,
      lossOn: oneOf(SQUARE_LOSS_ON),
    });
  }

  inapplicable(facts: AttackFacts): string | undefined {
    const size = facts.exampleShape.reduce((a, b) => a * b, 1);
    return size < 2 ? `${this.name} needs at least 2 input values per example; got [${facts.exampleShape.join(', ')}]` : undefined;
  }

  async run(oracle: ScoreOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const n = x.shape[0]!;
    const state: RunState = {
      adversarial: Float32Array.from(x.data),
      success: new Uint8Array(n),
      bestLoss: new Float64Array(n).fill(Infinity),
      queries: new Int32Array(n),
      steps: 0,
    };
    if (n > 0) {
      if (!this.norms.includes(ctx.norm.name)) {
        throw new GibbonError('invalid_option', `square supports the norms ${this.norms.join(', ')}, not ${ctx.norm.name}`, { option: 'norm' });
      }
      const geometry = exampleGeometry(x.shape, this.name);
      const { restarts } = this.options;
      for (let restart = 0; restart < restarts; restart++) {
        const examples: number[] = [];
        for (let e = 0; e < n; e++) if (!state.success[e] && oracle.remainingQueries(e) > 0) examples.push(e);
        if (examples.length === 0) break;
        const rng = ctx.rng.fork('restart', restart);
        await this.runOnce(oracle, x, criterion, ctx, rng, geometry, state, Int32Array.from(examples), `restart ${restart + 1}/${restarts}`);
      }
    }
    return {
      adversarial: { data: state.adversarial, shape: [...x.shape] },
      success: state.success,
      steps: state.steps,
      diagnostics: { queriesPerExample: state.queries },
    };
  }

  /** One random search on `examples` (indices into x); the outcome is merged into `state`. */
  private async runOnce(
    oracle: ScoreOracle,
    xAll: Tensor,
    criterion: Criterion,
    ctx: AttackContext,
    rng: Rng,
    geometry: Geometry,
    state: RunState,
    examples: Int32Array,
    stage: string,
  ): Promise<void> {
    const { eps, norm } = ctx;
    const bounds = oracle.bounds;
    const m = examples.length;
    const row = rowSize(xAll);
    const x0 = gatherRows(xAll, examples);
    const pInit = this.options.pInit ?? SQUARE_P_INIT[norm.name];
    const horizon = Int32Array.from(examples, (e) => Math.min(this.options.queries, oracle.remainingQueries(e)));
    const longest = horizon.reduce((a, b) => Math.max(a, b), 0);
    const used = new Int32Array(m);
    const done = new Uint8Array(m);
    const loss = new Float64Array(m).fill(Infinity);
    const patterns = new PatternCache();

    const propose = norm.name === 'linf' ? linfCandidate : l2Candidate;
    const start = norm.name === 'linf' ? linfStart : l2Start;
    const best = new Float32Array(m * row);
    for (let k = 0; k < m; k++) start(best.subarray(k * row, (k + 1) * row), x0.data.subarray(k * row, (k + 1) * row), eps, geometry, rng, patterns);
    best.set(norm.project(x0, { data: best, shape: x0.shape }, eps, bounds).data);

    /** Queries the rows `live` of the restart at the points `points` (one row per live example). */
    const evaluate = async (live: readonly number[], points: Float32Array): Promise<void> => {
      ctx.signal?.throwIfAborted();
      const rows = Int32Array.from(live, (k) => examples[k]!);
      const scores = await oracle.scores({ data: points, shape: [live.length, ...xAll.shape.slice(1)] }, rows);
      state.steps++;
      const { values, logOf } = this.lossScores(scores);
      const judged = scores.logits ?? scores.probabilities;
      const c = values.shape[1]!;
      live.forEach((k, i) => {
        const e = examples[k]!;
        used[k]!++;
        state.queries[e]!++;
        const value = margin(values.data.subarray(i * c, (i + 1) * c), criterion.labels[e]!, criterion.targets?.[e], logOf);
        const adversarial = criterion.isAdversarial(judged.data.subarray(i * c, (i + 1) * c), e);
        if (adversarial || value < loss[k]!) {
          loss[k] = value;
          best.set(points.subarray(i * row, (i + 1) * row), k * row);
        }
        if (adversarial) done[k] = 1;
      });
    };

    await evaluate(
      Array.from({ length: m }, (_, k) => k),
      best.slice(),
    );
    for (let t = 0; ; t++) {
      const live: number[] = [];
      for (let k = 0; k < m; k++) if (!done[k] && used[k]! < horizon[k]!) live.push(k);
      ctx.onProgress?.({ step: t, steps: longest - 1, remaining: live.length, stage });
      if (live.length === 0) break;
      const candidates = new Float32Array(live.length * row);
      const centres = new Float32Array(live.length * row);
      live.forEach((k, i) => {
        const p = squareFraction(pInit, t, horizon[k]!);
        const out = candidates.subarray(i * row, (i + 1) * row);
        const origin = x0.data.subarray(k * row, (k + 1) * row);
        centres.set(origin, i * row);
        propose(out, best.subarray(k * row, (k + 1) * row), origin, eps, p, geometry, rng, patterns, bounds);
      });
      const projected = norm.project(
        { data: centres, shape: [live.length, ...xAll.shape.slice(1)] },
        { data: candidates, shape: [live.length, ...xAll.shape.slice(1)] },
        eps,
        bounds,
      );
      await evaluate(live, projected.data);
    }

    for (let k = 0; k < m; k++) {
      const e = examples[k]!;
      if (done[k] || loss[k]! < state.bestLoss[e]!) {
        state.adversarial.set(best.subarray(k * row, (k + 1) * row), e * row);
        state.bestLoss[e] = loss[k]!;
      }
      if (done[k]) state.success[e] = 1;
    }
  }

  /** The scores the loss is computed on, and whether they are probabilities (taken as logs). */
  private lossScores(scores: Scores): { values: Tensor; logOf: boolean } {
    const { lossOn } = this.options;
    if (lossOn === 'probabilities') return { values: scores.probabilities, logOf: true };
    if (scores.logits) return { values: scores.logits, logOf: false };
    if (lossOn === 'logits') {
      throw new GibbonError('invalid_option', `square: lossOn is 'logits' but the oracle gives only probabilities; use 'probabilities' or 'auto'`, {
        option: 'lossOn',
      });
    }
    return { values: scores.probabilities, logOf: true };
  }
}

/** Margin to minimise: z_y − max_{j≠y} z_j, or max_{j≠t} z_j − z_t (on log p when `logOf`). */
function margin(scores: ArrayLike<number>, label: number, target: number | undefined, logOf: boolean): number {
  // 1e-45 is the smallest float32; a probability that underflowed to 0 still compares.
  const value = (j: number): number => (logOf ? Math.log(Math.max(scores[j]!, 1e-45)) : scores[j]!);
  const own = target ?? label;
  let other = -Infinity;
  for (let j = 0; j < scores.length; j++) if (j !== own) other = Math.max(other, value(j));
  return target === undefined ? value(own) - other : other - value(own);
}

type Start = (out: Float32Array, x0: Float32Array, eps: number, g: Geometry, rng: Rng, patterns: PatternCache) => void;
type Propose = (
  out: Float32Array,
  best: Float32Array,
  x0: Float32Array,
  eps: number,
  p: number,
  g: Geometry,
  rng: Rng,
  patterns: PatternCache,
  bounds: Bounds,
) => void;

/** Vertical stripes: one random ±ε per column and channel (projection clips to the bounds). */
const linfStart: Start = (out, x0, eps, { channels, height, width }, rng) => {
  for (let c = 0; c < channels; c++) {
    for (let j = 0; j < width; j++) {
      const v = rng.integer(2) ? eps : -eps;
      for (let i = 0; i < height; i++) {
        const at = (c * height + i) * width + j;
        out[at] = x0[at]! + v;
      }
    }
  }
};

/** The best point with one s×s window set to a random ±ε per channel that changes something. */
const linfCandidate: Propose = (out, best, x0, eps, p, { channels, height, width }, rng, _patterns, { lower, upper }) => {
  out.set(best);
  // Windows stay smaller than the example, as in the paper (at most side − 1).
  const [rawH, rawW] = windowSides(p, { channels, height, width }, 1);
  const sh = height === 1 ? 1 : Math.max(1, Math.min(rawH, height - 1, width - 1));
  const sw = height === 1 ? Math.max(1, Math.min(rawW, width - 1)) : sh;
  const [r, q] = [rng.integer(height - sh + 1), rng.integer(width - sw + 1)];
  // Redraw signs that would reproduce the current window (the reference code does the same);
  // a bounded number of times, since with ε = 0 nothing can change.
  for (let attempt = 0; attempt < 16; attempt++) {
    let changed = false;
    for (let c = 0; c < channels; c++) {
      const v = rng.integer(2) ? eps : -eps;
      for (let i = r; i < r + sh; i++) {
        for (let j = q; j < q + sw; j++) {
          const at = (c * height + i) * width + j;
          out[at] = x0[at]! + v;
          if (Math.abs(Math.min(Math.max(out[at]!, lower), upper) - best[at]!) > 1e-7) changed = true;
        }
      }
    }
    if (changed) return;
  }
};

/** A grid of meta-pattern tiles with random signs per channel, scaled to ‖δ‖₂ = ε. */
const l2Start: Start = (out, x0, eps, { channels, height, width }, rng, patterns) => {
  // A 5×5 grid of tiles on images; 25 segments on a row.
  const sh = height === 1 ? 1 : Math.max(1, Math.floor(Math.min(height, width) / 5));
  const sw = height === 1 ? Math.max(2, Math.floor(width / 25)) : sh;
  const [rows, cols] = [Math.floor(height / sh), Math.floor(width / sw)];
  const [top, left] = [Math.floor((height - rows * sh) / 2), Math.floor((width - cols * sw) / 2)];
  const delta = new Float64Array(out.length);
  for (let a = 0; a < rows; a++) {
    for (let b = 0; b < cols; b++) {
      const pattern = patterns.get(sh, sw, rng);
      for (let c = 0; c < channels; c++) {
        const sign = rng.integer(2) ? 1 : -1;
        for (let i = 0; i < sh; i++) {
          for (let j = 0; j < sw; j++) delta[(c * height + top + a * sh + i) * width + left + b * sw + j] = sign * pattern[i * sw + j]!;
        }
      }
    }
  }
  scaleInto(out, x0, delta, eps);
};

/**
 * The paper's L2 step: window 1 gets a new meta-pattern plus its old (normalised) content, sized
 * to hold the mass of windows 1 and 2 and an even share of the unused budget; window 2 is zeroed;
 * the whole perturbation is then rescaled to ‖δ‖₂ = ε.
 */
const l2Candidate: Propose = (out, best, x0, eps, p, { channels, height, width }, rng, patterns) => {
  const odd = (v: number, limit: number): number => Math.min(v % 2 === 0 ? v + 1 : v, limit);
  const [rawH, rawW] = windowSides(p, { channels, height, width }, 3);
  const sh = height === 1 ? 1 : odd(rawH, Math.min(height, width));
  const sw = height === 1 ? odd(Math.max(rawW, Math.min(3, width)), width) : sh;
  const [r1, q1] = [rng.integer(height - sh + 1), rng.integer(width - sw + 1)];
  const [r2, q2] = [rng.integer(height - sh + 1), rng.integer(width - sw + 1)];
  const inWindow1 = (i: number, j: number): boolean => i >= r1 && i < r1 + sh && j >= q1 && j < q1 + sw;
  const delta = new Float64Array(out.length);
  let total = 0;
  for (let j = 0; j < delta.length; j++) {
    delta[j] = best[j]! - x0[j]!;
    total += delta[j]! * delta[j]!;
  }
  const spare = Math.max(eps * eps - total, 0) / channels;
  const pattern = patterns.get(sh, sw, rng);
  const update = new Float64Array(sh * sw);
  for (let c = 0; c < channels; c++) {
    const at = (i: number, j: number): number => (c * height + i) * width + j;
    let window1 = 0;
    for (let i = r1; i < r1 + sh; i++) for (let j = q1; j < q1 + sw; j++) window1 += delta[at(i, j)]! ** 2;
    let window2Only = 0;
    for (let i = r2; i < r2 + sh; i++) for (let j = q2; j < q2 + sw; j++) if (!inWindow1(i, j)) window2Only += delta[at(i, j)]! ** 2;
    const sign = rng.integer(2) ? 1 : -1;
    const old = 1 / (1e-10 + Math.sqrt(window1));
    let size = 0;
    for (let i = 0; i < sh; i++) {
      for (let j = 0; j < sw; j++) {
        const v = sign * pattern[i * sw + j]! + delta[at(r1 + i, q1 + j)]! * old;
        update[i * sw + j] = v;
        size += v * v;
      }
    }
    const scale = size > 0 ? Math.sqrt(spare + window1 + window2Only) / Math.sqrt(size) : 0;
    for (let i = r2; i < r2 + sh; i++) for (let j = q2; j < q2 + sw; j++) delta[at(i, j)] = 0;
    for (let i = 0; i < sh; i++) for (let j = 0; j < sw; j++) delta[at(r1 + i, q1 + j)] = update[i * sw + j]! * scale;
  }
  scaleInto(out, x0, delta, eps);
};

/** out = x0 + ε·δ/‖δ‖₂ (x0 itself when δ = 0). */
function scaleInto(out: Float32Array, x0: Float32Array, delta: Float64Array, eps: number): void {
  let n = 0;
  for (const v of delta) n += v * v;
  const scale = n > 0 ? eps / Math.sqrt(n) : 0;
  for (let j = 0; j < out.length; j++) out[j] = x0[j]! + delta[j]! * scale;
}
