/**
 * The adaptive attack on a classifier equipped with a detector: PGD on an objective that asks for
 * a misclassification AND a score below the detector's threshold, through the gradient of the
 * whole detector-equipped ONNX graph (equipped-model.ts), with BPDA (the identity) at Round.
 *
 * Paper: Carlini & Wagner, "Adversarial Examples Are Not Easily Detected: Bypassing Ten Detection
 * Methods", AISec 2017, https://arxiv.org/abs/1705.07263 — attack the classifier and the detector
 * together; the PGD loop is Madry et al. 2018's.
 * Threat model: white box on classifier and detector — the attacker knows the architecture, the
 * weights, the detector's parameters and its threshold τ; L∞ budget ε, inputs in [0, 1];
 * untargeted. Success = misclassified AND not flagged (s ≤ τ).
 *
 * Objective (increased): J = min(m, κ) − λ·max(0, (s − τ)/σ + δ), m the C&W margin, σ the
 * spread of clean scores (equipped-model.ts). λ runs over a short list (a schedule): each value is
 * a separate PGD run with a random start on the examples not yet broken, and per example the best
 * iterate is kept (a success first; else a misclassified one with the lowest score; else the
 * lowest score).
 * Options (defaults): steps 100, step size 2.5·ε/steps (Madry et al.), λ ∈ {0.1, 1, 10}, κ 2,
 * δ 0.05, random start.
 *
 * Quantised branch (feature squeezing with a bit-depth or quantize squeezer): BPDA's identity at
 * Round moves the squeezed copy f(Round(x)) as if every pixel could change its level, but within
 * the ε-ball only pixels near a level boundary can (1 bit, ε 0.3 on MNIST: about 45 of 784). So a
 * second phase, on the examples still not broken, first searches the squeezed image directly: a
 * greedy flip search over the levels the ε-ball can reach, each step taking the single flip that
 * most raises the margin of f on the squeezed image (exact forward passes, no gradient), from the
 * clean image's levels and from the first phase's best iterate's. Then it pins those levels — each
 * pixel confined to the ε-ball ∩ the cell that rounds to its chosen level — and reruns the λ
 * schedule with Round's true (zero) gradient, which is exact while the levels are pinned: the
 * score then pulls f(x) and the other squeezed copies towards the now-wrong f(squeezed x).
 * Option `quantizedSearch` (default on) turns the phase off.
 *
 * Like the attack harness (attacks/attack.ts), the result is clipped into the ε-ball ∩ [0, 1] and
 * judged by a fresh forward pass, not by the attack's own bookkeeping.
 */
import { GibbonError } from '../../errors.js';
import { UNIT_BOUNDS } from '../../model/bounds.js';
import { normByName } from '../../norms/index.js';
import type { Rng } from '../../random.js';
import { cloneTensor, gatherRows, rowSize } from '../../tensor/rows.js';
import { argmaxRows, type Tensor } from '../../tensor/tensor.js';
import type { AdaptiveObjective, EquippedModel } from './equipped-model.js';

export interface AdaptiveAttackOptions {
  /** L∞ budget ε. Required. */
  readonly eps: number;
  /** PGD steps per λ. Default 100 (Madry et al. 2018). */
  readonly steps: number;
  /** Absolute step size (default 2.5·ε/steps). */
  readonly stepSize?: number;
  /** The λ schedule: one PGD run per value, on the examples not yet broken. Default [0.1, 1, 10]. */
  readonly lambdas: readonly number[];
  /** κ, the cap on the C&W margin in min(m, κ) (Carlini & Wagner 2017). Default 2. */
  readonly kappa: number;
  /** δ, the margin below the threshold the score term asks for, in units of the clean scores' spread. Default 0.05. */
  readonly delta: number;
  /** The quantised-branch phase (used only when the detector has one quantising squeezer). */
  readonly quantizedSearch: boolean;
}

export const ADAPTIVE_DEFAULTS: Omit<AdaptiveAttackOptions, 'eps'> = Object.freeze({
  steps: 100,
  lambdas: Object.freeze([0.1, 1, 10]),
  kappa: 2,
  delta: 0.05,
  quantizedSearch: true,
});

export interface DetectorFacts {
  /** Flag when s > threshold. */
  readonly threshold: number;
  /** Spread of clean scores (σ); the objective measures the score in these units. */
  readonly scale: number;
  /**
   * Grey levels L of the detector's quantising squeezer (bit-depth b: 2^b; quantize L: L), when it
   * has exactly one: it computes Round(x·(L − 1))/(L − 1).
   */
  readonly quantizerLevels?: number;
}

export interface AdaptiveProgress {
  /** 'free': the first phase; 'pinned': the quantised phase, with the squeezed levels pinned. */
  readonly phase: 'free' | 'pinned';
  readonly lambda: number;
  readonly step: number;
  readonly steps: number;
  readonly remaining: number;
}

export interface AdaptiveAttackResult {
  /** Adversarial examples, clipped into the ε-ball ∩ [0, 1]. */
  readonly adversarial: Tensor;
  /** From a fresh forward pass on `adversarial`. */
  readonly misclassified: Uint8Array;
  readonly score: Float32Array;
  /** Misclassified and not flagged. */
  readonly success: Uint8Array;
  readonly gradientSteps: number;
  /** Forward passes of the quantised-branch search (0 when it did not run). */
  readonly searchQueries: number;
}

/** Keeps a rounded level strictly inside its cell: Round is half-to-even at the boundary. */
const CELL_MARGIN = 1e-3;

function marginOf(logits: Float32Array, i: number, c: number, y: number): number {
  let other = -Infinity;
  for (let j = 0; j < c; j++) if (j !== y) other = Math.max(other, logits[i * c + j]!);
  return other - logits[i * c + y]!;
}

/** The level range [lo, hi] (level indices) that x can round to inside [x0 − ε, x0 + ε] ∩ [0, 1]. */
function reachableLevels(x0: number, eps: number, k: number): [number, number] {
  const low = Math.max(0, x0 - eps);
  const high = Math.min(1, x0 + eps);
  return [Math.ceil(low * k - 0.5 + CELL_MARGIN), Math.floor(high * k + 0.5 - CELL_MARGIN)];
}

/**
 * Greedy search over reachable level images: per step and example, every single-pixel move to an
 * adjacent reachable level is scored by f's margin on the level image (one batched forward pass),
 * and the best move is taken while it raises the margin. Returns level indices per pixel.
 */
async function searchLevels(
  model: EquippedModel,
  x0: Tensor,
  starts: readonly Tensor[],
  labels: Int32Array,
  eps: number,
  levels: number,
): Promise<{ chosen: Int32Array; margin: Float32Array; queries: number }> {
  const n = x0.shape[0]!;
  const row = rowSize(x0);
  const c = model.numClasses;
  const k = levels - 1;
  const lo = new Int32Array(n * row);
  const hi = new Int32Array(n * row);
  for (let j = 0; j < n * row; j++) [lo[j], hi[j]] = reachableLevels(x0.data[j]!, eps, k);
  const chosen = new Int32Array(n * row);
  const bestMargin = new Float32Array(n).fill(-Infinity);
  let queries = 0;
  const image = (lv: Int32Array, i: number, out: Float32Array, at: number): void => {
    for (let j = 0; j < row; j++) out[at + j] = lv[i * row + j]! / k;
  };
  for (const start of starts) {
    const current = new Int32Array(n * row);
    for (let j = 0; j < n * row; j++) current[j] = Math.min(hi[j]!, Math.max(lo[j]!, Math.round(start.data[j]! * k)));
    const free: number[][] = [];
    for (let i = 0; i < n; i++) {
      const f: number[] = [];
      for (let j = 0; j < row; j++) if (hi[i * row + j]! > lo[i * row + j]!) f.push(j);
      free.push(f);
    }
    const first = new Float32Array(n * row);
    for (let i = 0; i < n; i++) image(current, i, first, i * row);
    const r0 = await model.run({ data: first, shape: [...x0.shape] });
    queries += n;
    const margin = Float32Array.from({ length: n }, (_, i) => marginOf(r0.logits.data, i, c, labels[i]!));
    let active = Array.from({ length: n }, (_, i) => i).filter((i) => free[i]!.length > 0);
    while (active.length > 0) {
      // Moves: (example, pixel, new level); up to two per free pixel.
      const moves: [number, number, number][] = [];
      for (const i of active) {
        for (const j of free[i]!) {
          const v = current[i * row + j]!;
          if (v + 1 <= hi[i * row + j]!) moves.push([i, j, v + 1]);
          if (v - 1 >= lo[i * row + j]!) moves.push([i, j, v - 1]);
        }
      }
      const batch = new Float32Array(moves.length * row);
      moves.forEach(([i, j, v], m) => {
        image(current, i, batch, m * row);
        batch[m * row + j] = v / k;
      });
      const r = await model.run({ data: batch, shape: [moves.length, ...x0.shape.slice(1)] });
      queries += moves.length;
      const best = new Map<number, [number, number]>();
      moves.forEach(([i], m) => {
        const g = marginOf(r.logits.data, m, c, labels[i]!);
        if (g > margin[i]! && g > (best.get(i)?.[1] ?? -Infinity)) best.set(i, [m, g]);
      });
      for (const [i, [m, g]] of best) {
        const [, j, v] = moves[m]!;
        current[i * row + j] = v;
        margin[i] = g;
      }
      active = active.filter((i) => best.has(i));
    }
    for (let i = 0; i < n; i++) {
      if (margin[i]! > bestMargin[i]!) {
        bestMargin[i] = margin[i]!;
        chosen.set(current.subarray(i * row, (i + 1) * row), i * row);
      }
    }
  }
  return { chosen, margin: bestMargin, queries };
}

export async function adaptiveAttack(
  model: EquippedModel,
  x: Tensor,
  labels: Int32Array,
  detector: DetectorFacts,
  options: AdaptiveAttackOptions,
  rng: Rng,
  onProgress?: (p: AdaptiveProgress) => void,
): Promise<AdaptiveAttackResult> {
  const { eps, steps } = options;
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new GibbonError('invalid_option', `ε must be a finite number ≥ 0; got ${eps}`, { option: 'eps' });
  if (options.lambdas.length === 0 || options.lambdas.some((l) => !(l >= 0))) {
    throw new GibbonError('invalid_option', `λ values must be numbers ≥ 0; got ${options.lambdas.join(', ')}`, { option: 'lambdas' });
  }
  const norm = normByName('linf');
  const alpha = options.stepSize ?? (2.5 * eps) / steps;
  const objective = { kappa: options.kappa, threshold: detector.threshold, scale: detector.scale > 0 ? detector.scale : 1, delta: options.delta };
  const n = x.shape[0]!;
  const c = model.numClasses;
  const row = rowSize(x);
  const best = cloneTensor(x);
  // Rank per example: 0 success, 1 misclassified but flagged, 2 neither; then the lower score.
  const rank = new Uint8Array(n).fill(3);
  const bestScore = new Float32Array(n).fill(Infinity);
  let gradientSteps = 0;
  let searchQueries = 0;

  const observe = (indices: Int32Array, xk: Tensor, logits: Float32Array, score: Float32Array): Uint8Array => {
    const done = new Uint8Array(indices.length);
    const predicted = argmaxRows({ data: logits, shape: [indices.length, c] });
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i]!;
      const mis = predicted[i] !== labels[k];
      const r = mis ? (score[i]! <= detector.threshold ? 0 : 1) : 2;
      if (r < rank[k]! || (r === rank[k]! && score[i]! < bestScore[k]!)) {
        rank[k] = r;
        bestScore[k] = score[i]!;
        best.data.set(xk.data.subarray(i * row, (i + 1) * row), k * row);
      }
      done[i] = r === 0 ? 1 : 0;
    }
    return done;
  };

  /**
   * One PGD run per λ on the examples not yet broken. `box` (per pixel, all examples), when
   * given, narrows the ε-ball further (the quantised phase's pinned levels).
   */
  const schedule = async (obj: AdaptiveObjective, box?: { lo: Float32Array; hi: Float32Array }): Promise<void> => {
    const narrow = (t: Tensor, active: Int32Array): Tensor => {
      if (!box) return t;
      active.forEach((k, i) => {
        for (let j = 0; j < row; j++) {
          const v = t.data[i * row + j]!;
          t.data[i * row + j] = Math.min(box.hi[k * row + j]!, Math.max(box.lo[k * row + j]!, v));
        }
      });
      return t;
    };
    for (const lambda of options.lambdas) {
      let active = Int32Array.from({ length: n }, (_, i) => i).filter((i) => rank[i] !== 0);
      if (active.length === 0) break;
      let x0 = gatherRows(x, active);
      let xk = narrow(eps > 0 ? norm.randomStart(x0, eps, rng, UNIT_BOUNDS) : cloneTensor(x0), active);
      for (let step = 0; step <= steps && active.length > 0; step++) {
        if (step === steps) {
          const r = await model.run(xk);
          observe(active, xk, r.logits.data, r.score);
          break;
        }
        const sub = Int32Array.from(active, (k) => labels[k]!);
        const r = await model.objectiveAndGrad(xk, sub, new Float32Array(active.length).fill(lambda), obj);
        gradientSteps++;
        const done = observe(active, xk, r.logits.data, r.score);
        const keep = Int32Array.from({ length: active.length }, (_, i) => i).filter((i) => done[i] === 0);
        onProgress?.({ phase: box ? 'pinned' : 'free', lambda, step, steps, remaining: keep.length });
        let grad = r.grad;
        if (keep.length < active.length) {
          active = Int32Array.from(keep, (i) => active[i]!);
          x0 = gatherRows(x0, keep);
          xk = gatherRows(xk, keep);
          grad = gatherRows(grad, keep);
          if (active.length === 0) break;
        }
        const stepped = cloneTensor(xk);
        const direction = norm.normalizeGradient(grad);
        for (let j = 0; j < stepped.data.length; j++) stepped.data[j]! += alpha * direction.data[j]!;
        xk = narrow(norm.project(x0, stepped, eps, UNIT_BOUNDS), active);
      }
    }
  };

  await schedule(objective);

  const levels = detector.quantizerLevels;
  const left = Int32Array.from({ length: n }, (_, i) => i).filter((i) => rank[i] !== 0);
  if (options.quantizedSearch && levels !== undefined && levels >= 2 && eps > 0 && left.length > 0) {
    const k = levels - 1;
    const x0 = gatherRows(x, left);
    const found = await searchLevels(
      model,
      x0,
      [x0, gatherRows(best, left)],
      Int32Array.from(left, (i) => labels[i]!),
      eps,
      levels,
    );
    searchQueries += found.queries;
    // Pin the levels found: each pixel stays in the ε-ball ∩ [0, 1] ∩ the cell of its level.
    const lo = Float32Array.from({ length: n * row }, (_, j) => Math.max(0, x.data[j]! - eps));
    const hi = Float32Array.from({ length: n * row }, (_, j) => Math.min(1, x.data[j]! + eps));
    left.forEach((kk, i) => {
      for (let j = 0; j < row; j++) {
        const v = found.chosen[i * row + j]!;
        const at = kk * row + j;
        lo[at] = Math.max(lo[at]!, v === 0 ? 0 : (v - 0.5) / k + CELL_MARGIN);
        hi[at] = Math.min(hi[at]!, v === k ? 1 : (v + 0.5) / k - CELL_MARGIN);
      }
    });
    await schedule({ ...objective, nonDifferentiable: 'zero' }, { lo, hi });
  }

  // The harness's part: clip to the budget and judge with a fresh forward pass.
  const adversarial = norm.clipPerturbation(x, best, eps, UNIT_BOUNDS);
  const judged = await model.run(adversarial);
  const misclassified = new Uint8Array(n);
  const success = new Uint8Array(n);
  const predicted = argmaxRows(judged.logits);
  for (let i = 0; i < n; i++) {
    misclassified[i] = predicted[i] !== labels[i] ? 1 : 0;
    success[i] = misclassified[i] && judged.score[i]! <= detector.threshold ? 1 : 0;
  }
  return { adversarial, misclassified, score: judged.score, success, gradientSteps, searchQueries };
}
