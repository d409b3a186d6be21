/**
 * The adaptive attack on a classifier equipped with a detector: success means misclassified AND
 * not flagged (criteria/undetected-misclassification.ts), and the attack ascends an objective that
 * asks for both, through the gradient of the whole detector-equipped ONNX graph
 * (equipped-model.ts), with BPDA (the identity) at Round. It is not a loop of its own: the
 * objective is the loss of a gradient oracle (adaptive-oracle.ts), and gibbon's PgdAttack (or
 * ApgdAttack) runs on it through the attack harness (attacks/attack.ts), which clips every result
 * into the ε-ball ∩ bounds and re-checks success with a fresh forward pass. Any norm the attacks
 * support (L∞, L2) and any input domain work.
 *
 * Paper: Carlini & Wagner, "Adversarial Examples Are Not Easily Detected: Bypassing Ten Detection
 * Methods", AISec 2017, https://arxiv.org/abs/1705.07263 — attack the classifier and the detector
 * together; the PGD loop is Madry et al. 2018's.
 * Threat model: white box on classifier and detector — the attacker knows the architecture, the
 * weights, the detector's parameters and its threshold τ; L∞ (default) or L2 budget ε; untargeted.
 *
 * Objective (increased): J = min(m, κ) − λ·max(0, (s − τ)/σ + δ), m the C&W margin, σ the spread of
 * clean scores (equipped-model.ts). λ runs over a short list (a schedule): each value is a separate
 * attack run with a random start on the examples not yet broken. Every point an attack asks the
 * oracle about, and every result the harness returns, is a candidate, and per example the best one
 * is kept (a success first; else a misclassified one with the lowest score; else the lowest score);
 * the kept ones are clipped and judged once more by a fresh forward pass.
 * Options (defaults): PGD, steps 100, step size 2.5·ε/steps (Madry et al.), 1 restart, λ ∈ {0.1, 1,
 * 10}, κ 2, δ 0.05, random start; `attack: 'apgd'` runs APGD with the margin loss instead (its
 * step size adapts itself).
 *
 * Quantised stage (feature squeezing with one bit-depth or quantize squeezer, L∞ only;
 * level-search.ts): on the examples still not broken, a greedy search over the squeezed levels the
 * ε-ball can reach, from the clean image's levels and from the best result's; then the features are
 * pinned to the ε-ball ∩ the cell of their chosen level and the λ schedule runs again with Round's
 * true (zero) gradient, exact while the levels are pinned: the score then pulls f(x) and the other
 * squeezed copies towards the now-wrong f(squeezed x). Option `quantizedSearch` (default on).
 *
 * @example
 * ```ts
 * const equipped = await EquippedModel.create(loadModel('mnist.onnx'), detectorFile.detector);
 * const r = await adaptiveAttack(equipped, x, labels, { threshold: detectorFile.threshold, scale: detectorFile.calibration.score_std },
 *   { ...ADAPTIVE_DEFAULTS, eps: 2, norm: 'l2' }, { seed: 0 });
 * // r.success[i]: example i is misclassified and not flagged
 * ```
 */
import { ApgdAttack } from '../../attacks/apgd.js';
import { runAttack, type Attack } from '../../attacks/attack.js';
import { PgdAttack } from '../../attacks/pgd.js';
import { undetectedMisclassification } from '../../criteria/undetected-misclassification.js';
import { GibbonError } from '../../errors.js';
import { UNIT_BOUNDS, type Bounds } from '../../model/bounds.js';
import type { GradientOracle } from '../../model/oracles.js';
import { normByName } from '../../norms/index.js';
import type { NormName } from '../../norms/norm.js';
import { deriveSeed } from '../../random.js';
import { cloneTensor, gatherRows, rowSize } from '../../tensor/rows.js';
import { argmaxRows, type Tensor } from '../../tensor/tensor.js';
import { adaptiveOracle, clampToCells, type PinnedCells } from './adaptive-oracle.js';
import type { AdaptiveObjective, EquippedModel } from './equipped-model.js';
import { pinnedCells, searchLevels } from './level-search.js';

export interface AdaptiveAttackOptions {
  /** L∞ budget ε. Required. */
  readonly eps: number;
  /** PGD steps per λ. Default 100 (Madry et al. 2018). */
  readonly steps: number;
  /** Absolute step size of PGD (default 2.5·ε/steps). */
  readonly stepSize?: number;
  /** The λ schedule: one PGD run per value, on the examples not yet broken. Default [0.1, 1, 10]. */
  readonly lambdas: readonly number[];
  /** κ, the cap on the C&W margin in min(m, κ) (Carlini & Wagner 2017). Default 2. */
  readonly kappa: number;
  /** δ, the margin below the threshold the score term asks for, in units of the clean scores' spread. Default 0.05. */
  readonly delta: number;
  /** The quantised stage (used only when the detector has one quantising squeezer, under L∞). */
  readonly quantizedSearch: boolean;
  /** The budget's norm (default 'linf'). */
  readonly norm?: NormName;
  /** Input domain (default [0, 1]). */
  readonly bounds?: Bounds;
  /** The gradient attack run per λ (default 'pgd'). */
  readonly attack?: 'pgd' | 'apgd';
  /** Restarts per λ, each on the examples still not broken (default 1). */
  readonly restarts?: number;
}

export const ADAPTIVE_DEFAULTS: Omit<AdaptiveAttackOptions, 'eps'> = Object.freeze({
  steps: 100,
  lambdas: Object.freeze([0.1, 1, 10]),
  kappa: 2,
  delta: 0.05,
  quantizedSearch: true,
  restarts: 2,
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
  /** 'free': the first stage; 'pinned': the quantised stage, with the squeezed levels pinned. */
  readonly phase: 'free' | 'pinned';
  readonly lambda: number;
  readonly step: number;
  readonly steps: number;
  readonly remaining: number;
}

export interface AdaptiveRun {
  /** Seed of the attacks' random starts (default 0). */
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: AdaptiveProgress) => void;
}

export interface AdaptiveAttackResult {
  /** Adversarial examples, inside the ε-ball ∩ bounds. */
  readonly adversarial: Tensor;
  /** From a fresh forward pass on `adversarial`. */
  readonly misclassified: Uint8Array;
  readonly score: Float32Array;
  /** Misclassified and not flagged. */
  readonly success: Uint8Array;
  /** Gradient iterations of all the attack runs. */
  readonly gradientSteps: number;
  /** Forward passes of the quantised stage's search (0 when it did not run). */
  readonly searchQueries: number;
}

/**
 * Per example, the best adversarial candidate offered so far: rank 0 success, 1 misclassified but
 * flagged, 2 neither; between equal ranks the lower score.
 */
class BestCandidates {
  readonly best: Tensor;
  private readonly rank: Uint8Array;
  private readonly score: Float32Array;
  private readonly row: number;

  constructor(
    x: Tensor,
    private readonly labels: Int32Array,
    private readonly threshold: number,
  ) {
    this.best = cloneTensor(x);
    this.rank = new Uint8Array(x.shape[0]!).fill(3);
    this.score = new Float32Array(x.shape[0]!).fill(Infinity);
    this.row = rowSize(x);
  }

  /** Examples not yet broken. */
  remaining(): Int32Array {
    return Int32Array.from({ length: this.rank.length }, (_, i) => i).filter((i) => this.rank[i] !== 0);
  }

  /** Candidates for the examples `indices` (row i ↔ indices[i]) with their forward pass. */
  offer(indices: ArrayLike<number>, candidates: Tensor, judged: { readonly logits: Tensor; readonly score: Float32Array }): void {
    const predicted = argmaxRows(judged.logits);
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i]!;
      const s = judged.score[i]!;
      const r = predicted[i] !== this.labels[k] ? (s <= this.threshold ? 0 : 1) : 2;
      if (r < this.rank[k]! || (r === this.rank[k]! && s < this.score[k]!)) {
        this.rank[k] = r;
        this.score[k] = s;
        this.best.data.set(candidates.data.subarray(i * this.row, (i + 1) * this.row), k * this.row);
      }
    }
  }
}

/** The cells of the examples `indices`, renumbered 0…k−1. */
function gatherCells(cells: PinnedCells, indices: Int32Array, row: number): PinnedCells {
  const pick = (a: Float32Array): Float32Array => gatherRows({ data: a, shape: [a.length / row, row] }, indices).data;
  return { lower: pick(cells.lower), upper: pick(cells.upper) };
}

function checkOptions(options: AdaptiveAttackOptions): void {
  const { eps } = options;
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new GibbonError('invalid_option', `ε must be a finite number ≥ 0; got ${eps}`, { option: 'eps' });
  if (options.lambdas.length === 0 || options.lambdas.some((l) => !(l >= 0))) {
    throw new GibbonError('invalid_option', `λ values must be numbers ≥ 0; got ${options.lambdas.join(', ')}`, { option: 'lambdas' });
  }
}

/** The gradient attack of one λ run: PGD at the stated step size, or APGD, both on the margin term. */
function gradientAttack(options: AdaptiveAttackOptions): Attack<GradientOracle> {
  const { steps, restarts } = options;
  if (options.attack === 'apgd') return new ApgdAttack({ steps, restarts, loss: 'margin' });
  const alpha = options.stepSize ?? (2.5 * options.eps) / steps;
  return new PgdAttack({ steps, restarts, loss: 'margin', randomStart: true, absStepsize: alpha > 0 ? alpha : undefined });
}

export async function adaptiveAttack(
  model: EquippedModel,
  x: Tensor,
  labels: Int32Array,
  detector: DetectorFacts,
  options: AdaptiveAttackOptions,
  run: AdaptiveRun = {},
): Promise<AdaptiveAttackResult> {
  checkOptions(options);
  const { eps } = options;
  const norm = normByName(options.norm ?? 'linf');
  const bounds = options.bounds ?? UNIT_BOUNDS;
  const seed = run.seed ?? 0;
  const objective: AdaptiveObjective = {
    kappa: options.kappa,
    threshold: detector.threshold,
    scale: detector.scale > 0 ? detector.scale : 1,
    delta: options.delta,
  };
  const criterion = undetectedMisclassification(labels, { numClasses: model.numClasses, threshold: detector.threshold });
  // The attacks stop an example where J stops pulling at its score: δ·σ under τ. Candidates are
  // still ranked by τ itself (every point asked about is one), so an example that passes τ on the
  // way is a success even if it never gets that far.
  const goal = undetectedMisclassification(labels, { numClasses: model.numClasses, threshold: detector.threshold - options.delta * objective.scale });
  const attack = gradientAttack(options);
  const best = new BestCandidates(x, criterion.labels, detector.threshold);
  let gradientSteps = 0;

  /**
   * One attack run per λ on the examples not yet broken; with `pinned` (row i: example among[i]) only
   * on those of `among`, each confined to its cells.
   */
  const schedule = async (phase: AdaptiveProgress['phase'], obj: AdaptiveObjective, among?: Int32Array, pinned?: PinnedCells): Promise<void> => {
    const position = new Map(Array.from(among ?? [], (k, i) => [k, i]));
    for (const [index, lambda] of options.lambdas.entries()) {
      const left = among ? best.remaining().filter((k) => position.has(k)) : best.remaining();
      if (left.length === 0) break;
      const cells =
        pinned &&
        gatherCells(
          pinned,
          Int32Array.from(left, (k) => position.get(k)!),
          rowSize(x),
        );
      // Every point the attack asks about is a candidate too (kept by rank, as the harness's answer is).
      const observe = (examples: Int32Array, points: Tensor, answer: { logits: Tensor; score: Float32Array }): void =>
        best.offer(
          Array.from(examples, (e) => left[e]!),
          points,
          answer,
        );
      const oracle = adaptiveOracle(model, { objective: obj, lambda, bounds, pinned: cells, observe });
      const outcome = await runAttack(attack, oracle, gatherRows(x, left), goal.subset(left), {
        eps,
        norm,
        seed: deriveSeed(seed, 'adaptive-detector', phase, index),
        signal: run.signal,
        onProgress: run.onProgress && ((p) => run.onProgress!({ phase, lambda, step: p.step, steps: p.steps, remaining: p.remaining })),
      });
      gradientSteps += outcome.steps;
      // On a pinned oracle the model answered at the clamped point: that is the candidate.
      const candidates = cells ? clampToCells(outcome.clipped, cells) : outcome.clipped;
      best.offer(left, candidates, await model.run(candidates));
    }
  };

  await schedule('free', objective);

  let searchQueries = 0;
  const levels = detector.quantizerLevels;
  const left = best.remaining();
  if (options.quantizedSearch && norm.name === 'linf' && levels !== undefined && levels >= 2 && eps > 0 && left.length > 0) {
    const x0 = gatherRows(x, left);
    const y = Int32Array.from(left, (k) => criterion.labels[k]!);
    const found = await searchLevels(model, x0, [x0, gatherRows(best.best, left)], y, eps, levels, bounds);
    searchQueries += found.queries;
    await schedule('pinned', { ...objective, nonDifferentiable: 'zero' }, left, pinnedCells(x0, eps, bounds, levels, found.chosen));
  }

  // The final verdict: the kept candidates, clipped once more, judged by a fresh forward pass.
  const adversarial = norm.clipPerturbation(x, best.best, eps, bounds);
  const judged = await model.run(adversarial);
  const predicted = argmaxRows(judged.logits);
  const misclassified = Uint8Array.from(predicted, (p, i) => (p !== labels[i] ? 1 : 0));
  const success = Uint8Array.from(misclassified, (m, i) => (m && judged.score[i]! <= detector.threshold ? 1 : 0));
  return { adversarial, misclassified, score: judged.score, success, gradientSteps, searchQueries };
}
