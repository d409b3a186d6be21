/**
 * The attack interface and the harness that runs attacks.
 *
 * An attack is an immutable options object plus `run(oracle, x, criterion, ctx)`. The oracle comes
 * per call (never stored) and is the only way to reach the model; `ctx` carries ε, the norm, a
 * seeded RNG, an AbortSignal and a progress callback. Attacks come in two kinds:
 * - 'fixed-epsilon' (FGSM, PGD, APGD …) search inside the ε-ball;
 * - 'minimization' (C&W, DeepFool) look for the smallest perturbation and ignore ε.
 *
 * `runAttack` is the only way results are reported. It owns the budget: it drops examples that are
 * already adversarial (they count as successes with zero perturbation), hands the attack the rest,
 * clips whatever comes back into the ε-ball ∩ bounds with the norm, and re-checks success with a
 * fresh forward pass. An attack cannot misreport; a claimed success that the re-check rejects
 * becomes a warning. What success means is given as labels (misclassification; with `targets`,
 * targeted misclassification) or as any `Criterion` (criteria/), as Foolbox's `get_criterion`
 * takes either, so custom success conditions go through the same clipping and re-check.
 */
import { GibbonError } from '../errors.js';
import type { Diagnostic } from '../diagnostics.js';
import { adversarialMask, type Criterion } from '../criteria/criterion.js';
import { misclassification } from '../criteria/misclassification.js';
import { targetedMisclassification } from '../criteria/targeted-misclassification.js';
import { checkWithinBounds } from '../model/bounds.js';
import { uncountedScores, type LabelArray, type Oracle, type OracleKind } from '../model/oracles.js';
import { normByName } from '../norms/index.js';
import type { Norm, NormName } from '../norms/norm.js';
import { Rng } from '../random.js';
import { cloneTensor, gatherRows, rowSize, scatterRows } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';

export type AttackKind = 'fixed-epsilon' | 'minimization';

export interface AttackProgress {
  /** Iterations done so far in the current stage. */
  readonly step: number;
  /** Iterations planned for the current stage. */
  readonly steps: number;
  /** Examples not yet adversarial. */
  readonly remaining: number;
  /** Which part of the attack is running (a restart, a target class, a binary-search step). */
  readonly stage?: string;
}

export interface AttackContext {
  /** Perturbation budget (for minimization attacks: the largest ε of interest; they may ignore it). */
  readonly eps: number;
  readonly norm: Norm;
  /** The only source of randomness an attack may use. */
  readonly rng: Rng;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: AttackProgress) => void;
}

/** What gradient attacks measure on the way, for gradient-masking checks. */
export interface AttackDiagnostics {
  /** Loss at the starting point, per example (NaN where not measured). */
  readonly initialLoss?: Float32Array;
  /** Highest loss reached, per example. */
  readonly bestLoss?: Float32Array;
  /** 1 where the first input gradient was exactly zero. */
  readonly zeroGradient?: Uint8Array;
  /** Queries the attack made per example (query-based attacks). */
  readonly queriesPerExample?: Int32Array;
}

export interface AttackResult {
  /** Adversarial candidates, shaped like x. The harness clips them. */
  readonly adversarial: Tensor;
  /** The attack's own claim, per example (the harness re-checks it). */
  readonly success: Uint8Array;
  /** Gradient (or query) iterations run, summed over restarts and stages. */
  readonly steps: number;
  readonly diagnostics?: AttackDiagnostics;
}

export interface Attack<O extends Oracle = Oracle> {
  /** Registry name, e.g. 'pgd'. */
  readonly name: string;
  readonly kind: AttackKind;
  /** The oracle the attack needs. */
  readonly oracleKind: O['kind'];
  /** Norms it supports. */
  readonly norms: readonly NormName[];
  /** Whether it accepts targeted criteria. */
  readonly targeted: boolean;
  /** Resolved options (frozen), for reports. */
  readonly options: Readonly<object>;
  /**
   * Why the attack cannot run on a model with these facts (too few classes for its loss, an input
   * it has no search space for), or undefined when it can. Ensembles skip such stages with a note.
   */
  inapplicable?(facts: AttackFacts): string | undefined;
  run(oracle: O, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult>;
}

/** What an ensemble knows of the model before attacking it. */
export interface AttackFacts {
  readonly numClasses: number;
  /** One example's shape (without the batch dimension). */
  readonly exampleShape: readonly number[];
  /** Whether the criterion is targeted. */
  readonly targeted: boolean;
}

export interface RunAttackOptions<E extends number | readonly number[]> {
  /** Budget(s). An array runs a fixed-ε attack once per ε, a minimization attack once for all. */
  readonly eps: E;
  /** The perturbation set's norm ('linf', 'l2' or a Norm object); the harness clips to its ball. Required. */
  readonly norm: Norm | NormName;
  /** Target class per example: makes a criterion given as labels targeted (a Criterion carries its own targets). */
  readonly targets?: LabelArray;
  /** Seed of the attack's RNG (default 0); each ε gets its own stream derived from it. */
  readonly seed?: number;
  /** Aborts the attack between steps (the harness then throws). Default: none. */
  readonly signal?: AbortSignal;
  /** Called as the attack makes progress, with the ε it is at. Default: none. */
  readonly onProgress?: (progress: AttackProgress & { readonly eps: number }) => void;
}

export interface AttackOutcome {
  readonly attack: string;
  readonly eps: number;
  readonly norm: NormName;
  /** What the attack returned (x itself for examples it was not given). */
  readonly raw: Tensor;
  /** raw clipped into the ε-ball ∩ bounds: the adversarial examples that count. */
  readonly clipped: Tensor;
  /** Re-checked on `clipped` with a fresh forward pass. */
  readonly success: Uint8Array;
  /** ‖clipped − x‖ per example. */
  readonly norms: Float64Array;
  /** Examples already adversarial at x (counted as successes, never attacked). */
  readonly cleanSuccess: Uint8Array;
  /** Batch indices of the examples the attack was given. */
  readonly attacked: Int32Array;
  /** Examples queried through the oracle by the attack (shared by all ε of one minimization run). */
  readonly queries: number;
  readonly steps: number;
  readonly seconds: number;
  /** The attack's diagnostics for the attacked examples (row i ↔ attacked[i]). */
  readonly diagnostics: AttackDiagnostics | undefined;
  readonly warnings: readonly Diagnostic[];
}

function checkEpsilons(eps: readonly number[], norm: Norm): void {
  if (eps.length === 0) throw new GibbonError('invalid_option', 'no ε given', { option: 'eps' });
  for (const e of eps) {
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 0) {
      throw new GibbonError('invalid_option', `ε must be a finite number ≥ 0; got ${String(e)} (norm ${norm.name})`, { option: 'eps' });
    }
  }
}

function checkShape(x: Tensor, oracle: Oracle): void {
  const expected = oracle.exampleShape;
  const got = x.shape.slice(1);
  if (x.shape.length !== expected.length + 1 || expected.some((d, i) => d !== null && d !== got[i])) {
    throw new GibbonError('invalid_input', `x has shape [${x.shape.join(', ')}] but the model expects [N, ${expected.map((d) => d ?? '?').join(', ')}]`, {
      option: 'x',
    });
  }
}

function checkCompatible(attack: Attack, oracle: Oracle, norm: Norm, criterion: Criterion): void {
  const kind: OracleKind = oracle.kind;
  if (attack.oracleKind !== kind) {
    throw new GibbonError('invalid_option', `attack '${attack.name}' needs a ${attack.oracleKind} oracle but was given a ${kind} oracle`, { option: 'attack' });
  }
  if (!attack.norms.includes(norm.name)) {
    throw new GibbonError('invalid_option', `attack '${attack.name}' supports the norms ${attack.norms.join(', ')}, not ${norm.name}`, { option: 'norm' });
  }
  if (criterion.targets && !attack.targeted) {
    throw new GibbonError('invalid_option', `attack '${attack.name}' is untargeted; it cannot be given target classes`, { option: 'targets' });
  }
}

/** Replaces rows containing NaN/Inf with the original example; returns how many there were. */
function repairNonFinite(adv: Tensor, x0: Tensor): number {
  const row = rowSize(x0);
  let bad = 0;
  for (let i = 0; i < x0.shape[0]!; i++) {
    let finite = true;
    for (let j = i * row; j < (i + 1) * row; j++) if (!Number.isFinite(adv.data[j]!)) finite = false;
    if (!finite) {
      adv.data.set(x0.data.subarray(i * row, (i + 1) * row), i * row);
      bad++;
    }
  }
  return bad;
}

/** Whether runAttack was given a Criterion rather than labels. */
export function isCriterion(success: LabelArray | Criterion): success is Criterion {
  return typeof (success as Partial<Criterion>).isAdversarial === 'function';
}

function criterionFor(success: LabelArray | Criterion, targets: LabelArray | undefined, numClasses: number): Criterion {
  if (!isCriterion(success)) return targets ? targetedMisclassification(success, targets, numClasses) : misclassification(success, numClasses);
  if (targets) {
    throw new GibbonError('invalid_option', `targets were given with the criterion '${success.name}'; a criterion carries its own targets`, {
      option: 'targets',
    });
  }
  return success;
}

/**
 * Runs an attack on x and returns
 * what counts: the adversarial examples clipped to the budget and success re-checked by a fresh
 * forward pass. `success` is the label per example (misclassification; with `options.targets`,
 * targeted) or a Criterion for the batch. With an array of ε the result is one outcome per ε, in order.
 */
export async function runAttack<O extends Oracle>(
  attack: Attack<O>,
  oracle: O,
  x: Tensor,
  success: LabelArray | Criterion,
  options: RunAttackOptions<number>,
): Promise<AttackOutcome>;
export async function runAttack<O extends Oracle>(
  attack: Attack<O>,
  oracle: O,
  x: Tensor,
  success: LabelArray | Criterion,
  options: RunAttackOptions<readonly number[]>,
): Promise<AttackOutcome[]>;
export async function runAttack<O extends Oracle>(
  attack: Attack<O>,
  oracle: O,
  x: Tensor,
  success: LabelArray | Criterion,
  options: RunAttackOptions<number | readonly number[]>,
): Promise<AttackOutcome | AttackOutcome[]> {
  const norm = typeof options.norm === 'string' ? normByName(options.norm) : options.norm;
  const epsilons = typeof options.eps === 'number' ? [options.eps] : [...options.eps];
  checkEpsilons(epsilons, norm);
  checkShape(x, oracle);
  const n = x.shape[0]!;
  const criterion = criterionFor(success, options.targets, oracle.numClasses);
  if (criterion.labels.length !== n) {
    throw new GibbonError('invalid_input', `labels has ${criterion.labels.length} entries but x has ${n} examples`, { option: 'labels' });
  }
  checkCompatible(attack as Attack, oracle, norm, criterion);
  checkWithinBounds(x, oracle.bounds, 'x');
  options.signal?.throwIfAborted();

  const seed = options.seed ?? 0;
  const clean = adversarialMask(criterion, await uncountedScores(oracle, x));
  const attacked = Int32Array.from({ length: n }, (_, i) => i).filter((i) => clean[i] === 0);
  const xSub = gatherRows(x, attacked);
  const criterionSub = criterion.subset(attacked);
  const oracleSub = oracle.forExamples(attacked) as O;

  interface RawRun {
    readonly result: AttackResult | undefined;
    readonly queries: number;
    readonly seconds: number;
  }
  const runOnce = async (eps: number): Promise<RawRun> => {
    if (attacked.length === 0) return { result: undefined, queries: 0, seconds: 0 };
    const before = oracle.queries;
    const started = performance.now();
    const result = await attack.run(oracleSub, xSub, criterionSub, {
      eps,
      norm,
      rng: Rng.derive(seed, attack.name, norm.name, eps),
      signal: options.signal,
      onProgress: options.onProgress ? (p) => options.onProgress!({ ...p, eps }) : undefined,
    });
    const seconds = (performance.now() - started) / 1000;
    const adv = result.adversarial;
    if (adv.shape.length !== xSub.shape.length || adv.shape.some((d, i) => d !== xSub.shape[i]) || result.success.length !== attacked.length) {
      throw new GibbonError('internal', `attack '${attack.name}' returned shape [${adv.shape.join(', ')}] for input [${xSub.shape.join(', ')}]`);
    }
    return { result, queries: oracle.queries - before, seconds };
  };

  const judge = async (raw: RawRun, eps: number): Promise<AttackOutcome> => {
    const warnings: Diagnostic[] = [];
    const full = cloneTensor(x);
    let advSub = xSub;
    if (raw.result) {
      advSub = cloneTensor(raw.result.adversarial);
      const bad = repairNonFinite(advSub, xSub);
      if (bad > 0) {
        warnings.push({
          code: 'non-finite-output',
          severity: 'warning',
          message: `${attack.name} returned NaN/Inf for ${bad} example(s); they were counted as failures. The loss or gradient may overflow: check the model's outputs`,
        });
      }
      scatterRows(full, attacked, advSub);
    }
    const clipped = norm.clipPerturbation(x, full, eps, oracle.bounds);
    const success = Uint8Array.from(clean);
    if (attacked.length > 0) {
      const clippedSub = gatherRows(clipped, attacked);
      // Asked of the view the attack was given: row i of clippedSub is its example i.
      const verdict = adversarialMask(criterionSub, await uncountedScores(oracleSub, clippedSub));
      const rawDist = norm.distance(advSub, xSub);
      let rejected = 0;
      for (let i = 0; i < attacked.length; i++) {
        success[attacked[i]!] = verdict[i]!;
        // A minimization attack's claim only speaks for ε at least its distance.
        const inScope = attack.kind === 'fixed-epsilon' || rawDist[i]! <= eps;
        if (raw.result!.success[i] && !verdict[i] && inScope) rejected++;
      }
      if (rejected > 0) {
        warnings.push({
          code: 'claimed-success-rejected',
          severity: rejected > Math.max(1, 0.01 * attacked.length) ? 'warning' : 'info',
          message: `${attack.name} reported success on ${rejected} example(s) that the re-check after clipping to ε=${eps} rejects (examples on the decision boundary, or an attack that leaves the budget)`,
        });
      }
    }
    return {
      attack: attack.name,
      eps,
      norm: norm.name,
      raw: full,
      clipped,
      success,
      norms: norm.distance(clipped, x),
      cleanSuccess: clean,
      attacked,
      queries: raw.queries,
      steps: raw.result?.steps ?? 0,
      seconds: raw.seconds,
      diagnostics: raw.result?.diagnostics,
      warnings,
    };
  };

  const outcomes: AttackOutcome[] = [];
  if (attack.kind === 'minimization') {
    const raw = await runOnce(Math.max(...epsilons));
    for (const eps of epsilons) outcomes.push(await judge(raw, eps));
  } else {
    for (const eps of epsilons) outcomes.push(await judge(await runOnce(eps), eps));
  }
  return typeof options.eps === 'number' ? outcomes[0]! : outcomes;
}
