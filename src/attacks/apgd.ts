/**
 * APGD — auto-PGD: PGD with momentum and a step size that adapts itself, so the only budget to
 * choose is the number of iterations. The step starts at η = 2ε and is halved at checkpoints
 * when progress stalls, after which the run restarts from the best point found. APGD-CE ascends
 * cross-entropy; APGD-T ascends the targeted DLR loss against each of the top-k other classes in
 * turn (only examples still robust go on to the next target).
 *
 * Paper: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks", ICML 2020, https://arxiv.org/abs/2003.01690 (Algorithm 1, Section 3).
 *
 * Threat model: white-box (GradientOracle); L∞ or L2; untargeted (APGD-CE, APGD-DLR, APGD-T,
 * whose targets are internal) or targeted (a targeted criterion: its targets are used directly).
 *
 * Options (defaults from the paper):
 * - `steps` 100 — iterations N_iter per run.
 * - `restarts` 1 — runs per target (only examples still robust are attacked again).
 * - `loss` 'ce' — loss family: 'ce' (APGD-CE), 'dlr' (APGD-DLR; APGD-T uses 'dlr' with targets),
 *   or 'margin'.
 * - `targetClasses` unset — when set (APGD-T: 9), run the targeted loss against each of the k
 *   highest-scoring other classes of the clean input.
 * - `rho` 0.75 — condition 1: halve η when fewer than ρ·(w_j − w_{j−1}) steps increased the loss.
 * - `momentum` 0.75 — α in x ← x + α(z − x) + (1 − α)(x − x_prev).
 * - `initialStepsize` 2 — η⁽⁰⁾ as a multiple of ε.
 * - `randomStart` true — start at a uniform random point of the ball.
 *
 * Checkpoints: p₀ = 0, p₁ = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), w_j = ⌈p_j·N⌉.
 * At w_j, η is halved and the iterate reset to the highest-loss point when condition 1 holds, or
 * (condition 2) when neither η nor the best loss changed since w_{j−1}.
 *
 * @example
 * ```ts
 * const apgdCe = new ApgdAttack({ loss: 'ce' });
 * const apgdT = new ApgdAttack({ loss: 'dlr', targetClasses: 9 });
 * const outcome = await runAttack(apgdT, gradientOracle(model), x, labels, { eps: 8 / 255, norm: 'linf', seed: 0 });
 * ```
 */
import type { LossName } from '../autodiff/loss-heads.js';
import type { Criterion } from '../criteria/criterion.js';
import { GibbonError } from '../errors.js';
import type { GradientOracle } from '../model/oracles.js';
import { gatherRows, gatherValues, rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackContext, AttackFacts, AttackResult } from './attack.js';
import { ConfiguredAttack } from './configured-attack.js';
import { ActiveSet } from './active-set.js';
import { addScaled, BestSoFar } from './best-so-far.js';
import { checkClassesFor, classShortfall, LOSS_FAMILIES, lossFor, type LossFamily } from './loss.js';
import { boolean, numberIn, oneOf, optional, positiveInteger, positiveNumber } from '../options.js';

export interface ApgdOptions {
  /** Iterations N_iter per run (per target and restart). Default 100 (Croce & Hein 2020, arXiv:2003.01690). */
  readonly steps: number;
  /** Runs per target; only examples still robust are attacked again. Default 1. */
  readonly restarts: number;
  /** Loss family: 'ce' (APGD-CE), 'dlr' (APGD-DLR; APGD-T uses its targeted form) or 'margin'. Default 'ce' (Croce & Hein 2020). */
  readonly loss: LossFamily;
  /** When set, APGD-T: the targeted loss against each of the k highest-scoring other classes of the clean input in turn (the paper's k = 9). Default unset (untargeted). */
  readonly targetClasses: number | undefined;
  /** ρ of condition 1: the step η is halved at a checkpoint when fewer than ρ·(w_j − w_{j−1}) steps increased the loss. Default 0.75 (Croce & Hein 2020). */
  readonly rho: number;
  /** α in x ← x + α(z − x) + (1 − α)(x − x_prev). Default 0.75 (Croce & Hein 2020). */
  readonly momentum: number;
  /** The first step η⁽⁰⁾ as a multiple of ε. Default 2 (Croce & Hein 2020). */
  readonly initialStepsize: number;
  /** Start at a uniform random point of the ε-ball (false: at x). Default true (Croce & Hein 2020). */
  readonly randomStart: boolean;
}

export const APGD_DEFAULTS: ApgdOptions = Object.freeze({
  steps: 100,
  restarts: 1,
  loss: 'ce',
  targetClasses: undefined,
  rho: 0.75,
  momentum: 0.75,
  initialStepsize: 2,
  randomStart: true,
});

/** Iterations (1…N) after which the step-size conditions are checked. */
export function apgdCheckpoints(steps: number): number[] {
  // p_j in hundredths, so that the schedule is exact: 0, 22, 41, 57, 70, 80, 87, 93, 99.
  const p = [0, 22];
  while (true) {
    const j = p.length - 1;
    const next = p[j]! + Math.max(p[j]! - p[j - 1]! - 3, 6);
    if (next > 100) break;
    p.push(next);
  }
  const w = p.slice(1).map((v) => Math.ceil((v * steps) / 100));
  return [...new Set(w)].filter((v) => v > 0 && v <= steps);
}

/** Indices of the classes of one row, highest score first, without `exclude`. */
function rankedOthers(scores: ArrayLike<number>, exclude: number): number[] {
  const classes: number[] = [];
  for (let j = 0; j < scores.length; j++) if (j !== exclude) classes.push(j);
  return classes.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

interface Run {
  readonly active: Int32Array;
  readonly labels: Int32Array;
  readonly targets: Int32Array | undefined;
  readonly loss: LossName;
  readonly stage: string;
}

export class ApgdAttack extends ConfiguredAttack<GradientOracle, ApgdOptions> {
  /** 'apgd-ce', 'apgd-dlr', 'apgd-margin', or 'apgd-t' with `targetClasses` (option errors say 'apgd'). */
  declare readonly name: string;

  constructor(options: Partial<ApgdOptions> = {}) {
    super({ name: 'apgd', kind: 'fixed-epsilon', oracleKind: 'gradient', norms: ['linf', 'l2'], targeted: true }, APGD_DEFAULTS, options, {
      steps: positiveInteger,
      restarts: positiveInteger,
      loss: oneOf(LOSS_FAMILIES),
      targetClasses: optional(positiveInteger),
      rho: numberIn(0, 1),
      momentum: numberIn(0, 1),
      initialStepsize: positiveNumber,
      randomStart: boolean,
    });
    this.name = this.options.targetClasses !== undefined ? 'apgd-t' : `apgd-${this.options.loss}`;
  }

  inapplicable(facts: AttackFacts): string | undefined {
    const { targetClasses, loss } = this.options;
    // APGD-T on an untargeted criterion targets the other classes one by one: with two classes
    // there is only the one APGD-CE already attacked, and its DLR head needs four.
    if (targetClasses !== undefined && !facts.targeted && facts.numClasses < 3) return `${this.name}: a 2-class model has no other class to target`;
    const head: LossName = facts.targeted || targetClasses !== undefined ? `${loss}-targeted` : loss;
    return classShortfall(head, facts.numClasses, this.name);
  }

  async run(oracle: GradientOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    const best = new BestSoFar(x, criterion);
    const { restarts, targetClasses } = this.options;
    if (criterion.targets || targetClasses === undefined) {
      const loss = lossFor(this.options.loss, criterion);
      checkClassesFor(loss, oracle.numClasses, this.name);
      for (let restart = 0; restart < restarts; restart++) {
        const active = best.remaining();
        if (active.length === 0) break;
        await this.runOnce(oracle, x, best, ctx, {
          active,
          labels: gatherValues(criterion.labels, active),
          targets: criterion.targets && gatherValues(criterion.targets, active),
          loss,
          stage: `restart ${restart + 1}/${restarts}`,
        });
      }
      return best.result();
    }
    // APGD-T: targets are the highest-scoring other classes at the clean input, one rank at a time.
    const loss: LossName = `${this.options.loss}-targeted`;
    checkClassesFor(loss, oracle.numClasses, this.name);
    const k = Math.min(targetClasses, oracle.numClasses - 1);
    if (k < 1) throw new GibbonError('invalid_option', `${this.name}: the model has no class to target`, { option: 'targetClasses' });
    const clean = await oracle.logits(x);
    const c = clean.shape[1]!;
    const ranked = Array.from({ length: x.shape[0]! }, (_, i) => rankedOthers(clean.data.subarray(i * c, (i + 1) * c), criterion.labels[i]!));
    for (let rank = 0; rank < k; rank++) {
      for (let restart = 0; restart < restarts; restart++) {
        const active = best.remaining();
        if (active.length === 0) return best.result();
        await this.runOnce(oracle, x, best, ctx, {
          active,
          labels: gatherValues(criterion.labels, active),
          targets: Int32Array.from(active, (e) => ranked[e]![rank]!),
          loss,
          stage: `target ${rank + 1}/${k}, restart ${restart + 1}/${restarts}`,
        });
      }
    }
    return best.result();
  }

  /** One run of Algorithm 1 on the examples `run.active`; successes and best points go to `best`. */
  private async runOnce(oracle: GradientOracle, xAll: Tensor, best: BestSoFar, ctx: AttackContext, run: Run): Promise<void> {
    const { eps, norm, rng } = ctx;
    const bounds = oracle.bounds;
    const { steps, rho, momentum, initialStepsize } = this.options;
    const project = (x0: Tensor, x: Tensor): Tensor => norm.project(x0, x, eps, bounds);
    const checkpoints = new Set(apgdCheckpoints(steps));

    const x0 = gatherRows(xAll, run.active);
    const xStart = this.options.randomStart ? norm.randomStart(x0, eps, rng, bounds) : x0;
    ctx.signal?.throwIfAborted();
    const first = await oracle.lossAndGrad(xStart, run.labels, run.loss, run.targets, run.active);
    best.steps++;
    let done = best.observe(run.active, xStart, first.logits, first.loss, first.grad);

    const eta = new Float32Array(run.active.length).fill(initialStepsize * eps);
    const set = new ActiveSet(run.active, {
      labels: run.labels,
      targets: run.targets,
      x0,
      xk: xStart,
      xPrev: xStart,
      xMax: xStart,
      grad: first.grad,
      gradMax: first.grad,
      f: Float32Array.from(first.loss),
      fMax: Float32Array.from(first.loss),
      eta,
      increases: new Int32Array(run.active.length),
      etaAtCheck: Float32Array.from(eta),
      fMaxAtCheck: Float32Array.from(first.loss),
    });
    const s = set.state;
    let lastCheck = 0;

    for (let k = 0; k < steps; k++) {
      const remaining = set.dropFlagged(done);
      ctx.onProgress?.({ step: k, steps, remaining, stage: run.stage });
      if (remaining === 0) return;
      ctx.signal?.throwIfAborted();

      const a = k === 0 ? 1 : momentum;
      const xk = s.xk;
      const z = project(s.x0, addScaled(xk, norm.normalizeGradient(s.grad), s.eta));
      const next = new Float32Array(xk.data.length);
      for (let j = 0; j < next.length; j++) next[j] = xk.data[j]! + a * (z.data[j]! - xk.data[j]!) + (1 - a) * (xk.data[j]! - s.xPrev.data[j]!);
      s.xPrev = xk;
      s.xk = project(s.x0, { data: next, shape: xk.shape });

      const r = await oracle.lossAndGrad(s.xk, s.labels, run.loss, s.targets, set.examples);
      best.steps++;
      done = best.observe(set.examples, s.xk, r.logits, r.loss, r.grad);
      s.grad = r.grad;
      const row = rowSize(s.xk);
      const improved: number[] = [];
      for (let i = 0; i < set.size; i++) {
        if (r.loss[i]! > s.f[i]!) s.increases[i]!++;
        s.f[i] = r.loss[i]!;
        if (r.loss[i]! > s.fMax[i]!) {
          s.fMax[i] = r.loss[i]!;
          improved.push(i);
        }
      }
      if (improved.length > 0) {
        s.xMax = copyRows(s.xMax, s.xk, improved, row);
        s.gradMax = copyRows(s.gradMax, s.grad, improved, row);
      }

      if (checkpoints.has(k + 1)) {
        const interval = k + 1 - lastCheck;
        const reset: number[] = [];
        for (let i = 0; i < set.size; i++) {
          const condition1 = s.increases[i]! < rho * interval;
          const condition2 = s.eta[i] === s.etaAtCheck[i] && s.fMax[i] === s.fMaxAtCheck[i];
          if (condition1 || condition2) {
            s.eta[i] = s.eta[i]! / 2;
            s.f[i] = s.fMax[i]!;
            reset.push(i);
          }
          s.increases[i] = 0;
          s.etaAtCheck[i] = s.eta[i]!;
          s.fMaxAtCheck[i] = s.fMax[i]!;
        }
        if (reset.length > 0) {
          // Restart from the best point found, with the gradient there.
          s.xk = copyRows(s.xk, s.xMax, reset, row);
          s.grad = copyRows(s.grad, s.gradMax, reset, row);
        }
        lastCheck = k + 1;
      }
    }
  }
}

/** A copy of `target` with rows `rows` taken from `source` (same row layout). */
function copyRows(target: Tensor, source: Tensor, rows: readonly number[], row: number): Tensor {
  const data = Float32Array.from(target.data);
  for (const i of rows) data.set(source.data.subarray(i * row, (i + 1) * row), i * row);
  return { data, shape: target.shape };
}
