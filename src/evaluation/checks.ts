/**
 * Gradient-masking checks: pure functions from what an evaluation measured to MaskingCheck entries.
 * A model whose gradients are useless to the attacker (zero, noisy, randomised, or stopped by a
 * non-differentiable op) looks robust to gradient attacks without being robust; these are the
 * warning signs listed by Carlini et al. 2019, "On Evaluating Adversarial Robustness"
 * (arXiv:1902.06705, Section 5) and Athalye, Carlini & Wagner 2018, "Obfuscated Gradients Give a
 * False Sense of Security" (arXiv:1802.00420, Section 3.1):
 *
 * - `iterative-weaker-than-single-step`: FGSM breaks more examples than the iterative attacks;
 * - `unbounded-attack-not-reaching-zero`: PGD with a budget covering the whole input domain leaves
 *   examples robust;
 * - `noise-stronger-than-attack`: random points of the ε-ball break more examples than the attacks;
 * - `loss-not-increasing`: the attacks' loss never rose above its starting value;
 * - `zero-gradients`: the input gradient is exactly zero for many examples;
 * - `accuracy-not-monotone-in-eps`: a larger budget leaves more examples robust;
 * - `black-box-stronger-than-white-box`: a black-box stage (Square in the `auto` ensemble) breaks
 *   examples every white-box stage left robust (only when both kinds ran in the cascade);
 * - `randomized-outputs`: two forward passes on the same inputs disagree (EOT is needed);
 * - `perturbation-outside-budget`: an adversarial example counted lies outside the ε-ball.
 *
 * Each failed check carries advice: more steps and restarts, BPDA (straight-through gradients at
 * the non-differentiable ops found on the gradient path), EOT. src/evaluation/README.md explains
 * each check under an anchor of its name.
 */
import type { NormName } from '../norms/norm.js';
import type { MaskingCheck } from '../report/index.js';

/** What was measured at one ε (counts of examples; the data set has `n`). */
export interface EpsEvidence {
  readonly eps: number;
  /** Robust under every attack run at this ε (the worst case). */
  readonly robust: number;
  /** Robust after the ensemble's stages alone (without the checks' reference runs). */
  readonly ensembleRobust: number;
  /** Robust after the ensemble's iterative white-box stages; undefined when none ran. */
  readonly iterativeRobust?: number;
  /** Robust under the single-step reference (FGSM); undefined when it did not run. */
  readonly singleStepRobust?: number;
  /** Robust under random noise of the same ε; undefined when it did not run. */
  readonly noiseRobust?: number;
  /** Broken by black-box stages after the white-box stages left them robust; undefined unless both kinds ran. */
  readonly blackBoxOnly?: number;
  /** Per iterative stage: examples left robust whose loss never increased, of those measured. */
  readonly loss: readonly { readonly label: string; readonly flat: number; readonly measured: number }[];
  /** Examples whose first gradient was exactly zero, of those measured (all gradient runs). */
  readonly zeroGradient: number;
  readonly gradientMeasured: number;
  /** Largest perturbation norm of any counted adversarial example. */
  readonly maxNorm: number;
}

export interface CheckEvidence {
  readonly n: number;
  readonly norm: NormName;
  readonly perEps: readonly EpsEvidence[];
  /** PGD at a budget covering the whole input domain; undefined when it did not run. */
  readonly unbounded?: { readonly eps: number; readonly attacked: number; readonly robust: number };
  /** Largest |difference| between two forward passes on the same inputs, relative to the largest |logit| (at least 1); undefined when not measured. */
  readonly forwardDifference?: number;
  /** Non-differentiable ops on the gradient path of the model. */
  readonly nonDifferentiableOps: readonly { readonly node: string; readonly op_type: string }[];
  /** Whether gradients already pass straight through those ops (BPDA). */
  readonly bpda: boolean;
}

/** Thresholds, as shares of examples (documented in README.md). */
export const CHECK_THRESHOLDS = Object.freeze({
  /** Unbounded PGD may leave at most this share robust. */
  unboundedAccuracy: 0.01,
  /** At most this share of the robust examples measured may show a loss that never rose. */
  flatLoss: 0.1,
  /** At most this share of gradients may be exactly zero. */
  zeroGradient: 0.01,
  /** A black-box stage may break at most this share of examples that white-box stages left robust. */
  blackBoxOnly: 0.01,
  /** Forward passes may differ by at most this, relative to the largest |logit|. */
  forwardDifference: 1e-4,
  /** Perturbations may exceed ε by at most this relative slack (float32 rounding). */
  budgetSlack: 1e-5,
});

const pct = (k: number, n: number): string => `${n > 0 ? ((100 * k) / n).toFixed(1) : '0.0'}%`;

function docs(name: string): string {
  return ` (src/evaluation/README.md#${name})`;
}

/** Advice that names the non-differentiable ops found, or says none were found. */
function bpdaAdvice(evidence: CheckEvidence): string {
  const ops = evidence.nonDifferentiableOps;
  if (ops.length === 0) return '';
  const listed = ops
    .slice(0, 4)
    .map((o) => `${o.op_type} '${o.node}'`)
    .join(', ');
  const more = ops.length > 4 ? ` and ${ops.length - 4} more` : '';
  if (evidence.bpda) {
    return `Non-differentiable ops on the gradient path (${listed}${more}) already pass gradients straight through (BPDA); if that approximation is poor, substitute a differentiable approximation of each op. `;
  }
  return `Non-differentiable ops on the gradient path (${listed}${more}) have a zero gradient almost everywhere: rerun with --bpda (OnnxModel option nonDifferentiable: 'identity', straight-through gradients; BPDA, Athalye et al. 2018). `;
}

const MORE_STEPS =
  'Run stronger attacks: more iterations and restarts (e.g. --attacks apgd-ce,apgd-t,pgd with more steps), and the margin/DLR losses, which do not vanish when the softmax saturates. ';
const EOT = 'If the model is randomised, average gradients over its randomness (EOT, Athalye et al. 2018). ';

function check(name: string, passed: boolean, detail: string, advice: string): MaskingCheck {
  return passed ? { name, passed, detail } : { name, passed, detail, advice: `${advice.trim()}${docs(name)}` };
}

export function iterativeWeakerThanSingleStep(evidence: CheckEvidence): MaskingCheck | undefined {
  const rows = evidence.perEps.filter((e) => e.iterativeRobust !== undefined && e.singleStepRobust !== undefined);
  if (rows.length === 0) return undefined;
  const bad = rows.filter((e) => e.singleStepRobust! < e.iterativeRobust!);
  const n = evidence.n;
  const detail = rows.map((e) => `ε=${e.eps}: FGSM ${pct(e.singleStepRobust!, n)}, iterative ${pct(e.iterativeRobust!, n)}`).join('; ');
  return check(
    'iterative-weaker-than-single-step',
    bad.length === 0,
    `robust accuracy under one FGSM step versus the iterative attacks: ${detail}`,
    `${bpdaAdvice(evidence)}A single step beating many suggests the iterative attacks get stuck in a locally flat or noisy loss. ${MORE_STEPS}`,
  );
}

export function unboundedAttackNotReachingZero(evidence: CheckEvidence): MaskingCheck | undefined {
  const u = evidence.unbounded;
  if (!u) return undefined;
  const share = u.robust / Math.max(1, evidence.n);
  return check(
    'unbounded-attack-not-reaching-zero',
    share <= CHECK_THRESHOLDS.unboundedAccuracy,
    `PGD with ε=${u.eps} (${evidence.norm}: the whole input domain) leaves ${pct(u.robust, evidence.n)} robust (${u.robust} of ${u.attacked} attacked); expected ~0%`,
    `${bpdaAdvice(evidence)}With an unlimited budget every example can be changed into any input, so accuracy must reach 0: the gradients do not lead the attack, or the input bounds are wrong. ${MORE_STEPS}`,
  );
}

export function noiseStrongerThanAttack(evidence: CheckEvidence): MaskingCheck | undefined {
  const rows = evidence.perEps.filter((e) => e.noiseRobust !== undefined);
  if (rows.length === 0) return undefined;
  const bad = rows.filter((e) => e.noiseRobust! < e.ensembleRobust);
  const n = evidence.n;
  const detail = rows.map((e) => `ε=${e.eps}: noise ${pct(e.noiseRobust!, n)}, attacks ${pct(e.ensembleRobust, n)}`).join('; ');
  return check(
    'noise-stronger-than-attack',
    bad.length === 0,
    `robust accuracy under random points of the ε-ball versus the attacks: ${detail}`,
    `${bpdaAdvice(evidence)}Random noise should never beat a gradient attack; the gradients are misleading. ${EOT}${MORE_STEPS}`,
  );
}

export function lossNotIncreasing(evidence: CheckEvidence): MaskingCheck | undefined {
  const stages = evidence.perEps.flatMap((e) => e.loss.map((l) => ({ ...l, eps: e.eps })));
  const measured = stages.reduce((s, l) => s + l.measured, 0);
  if (stages.length === 0) return undefined;
  const flat = stages.reduce((s, l) => s + l.flat, 0);
  const worst = [...stages].sort((a, b) => b.flat / Math.max(1, b.measured) - a.flat / Math.max(1, a.measured))[0]!;
  const passed = measured === 0 || flat / measured <= CHECK_THRESHOLDS.flatLoss;
  const worstText = worst.measured > 0 ? `; worst: ${worst.label} at ε=${worst.eps}, ${worst.flat} of ${worst.measured}` : '';
  return check(
    'loss-not-increasing',
    passed,
    `the loss never rose above its starting value for ${flat} of ${measured} (${pct(flat, measured)}) attacked examples that stayed robust${worstText}`,
    `${bpdaAdvice(evidence)}An attack whose loss does not move is not being guided by the gradient. ${MORE_STEPS}${EOT}`,
  );
}

export function zeroGradients(evidence: CheckEvidence): MaskingCheck | undefined {
  const measured = evidence.perEps.reduce((s, e) => s + e.gradientMeasured, 0);
  if (measured === 0) return undefined;
  const zero = evidence.perEps.reduce((s, e) => s + e.zeroGradient, 0);
  const saturation =
    evidence.nonDifferentiableOps.length === 0
      ? 'No non-differentiable op is on the gradient path, so the softmax may saturate: use the margin or DLR loss (apgd-t, apgd-dlr). '
      : '';
  return check(
    'zero-gradients',
    zero / measured <= CHECK_THRESHOLDS.zeroGradient,
    `the input gradient was exactly zero for ${zero} of ${measured} (${pct(zero, measured)}) gradient evaluations at the attacks' starting points`,
    `${bpdaAdvice(evidence)}${saturation}${MORE_STEPS}`,
  );
}

export function accuracyNotMonotoneInEps(evidence: CheckEvidence): MaskingCheck | undefined {
  const rows = [...evidence.perEps].sort((a, b) => a.eps - b.eps);
  if (rows.length < 2) return undefined;
  const rises: string[] = [];
  for (let i = 1; i < rows.length; i++) {
    if (rows[i]!.robust > rows[i - 1]!.robust)
      rises.push(`ε=${rows[i - 1]!.eps} → ${rows[i]!.eps}: ${pct(rows[i - 1]!.robust, evidence.n)} → ${pct(rows[i]!.robust, evidence.n)}`);
  }
  return check(
    'accuracy-not-monotone-in-eps',
    rises.length === 0,
    rises.length === 0
      ? `robust accuracy falls (or stays) as ε grows: ${rows.map((e) => pct(e.robust, evidence.n)).join(' → ')}`
      : `robust accuracy rises with ε: ${rises.join('; ')}`,
    `${bpdaAdvice(evidence)}A larger budget contains every smaller one, so robust accuracy can only fall; a rise means the attacks miss adversarial examples that exist. ${MORE_STEPS}`,
  );
}

export function blackBoxStrongerThanWhiteBox(evidence: CheckEvidence): MaskingCheck | undefined {
  const rows = evidence.perEps.filter((e) => e.blackBoxOnly !== undefined);
  if (rows.length === 0) return undefined;
  const worst = Math.max(...rows.map((e) => e.blackBoxOnly!));
  const ops = evidence.nonDifferentiableOps;
  const opsText = ops.length > 0 ? `; non-differentiable ops on the gradient path: ${[...new Set(ops.map((o) => o.op_type))].join(', ')}` : '';
  return check(
    'black-box-stronger-than-white-box',
    worst <= CHECK_THRESHOLDS.blackBoxOnly * evidence.n,
    `examples broken only by black-box attacks after every white-box attack failed: ${rows.map((e) => `ε=${e.eps}: ${e.blackBoxOnly} (${pct(e.blackBoxOnly!, evidence.n)})`).join('; ')}${opsText}`,
    `${bpdaAdvice(evidence)}An attack without gradients should not beat one with them: the gradients are masked. ${EOT}${MORE_STEPS}`,
  );
}

export function randomizedOutputs(evidence: CheckEvidence): MaskingCheck | undefined {
  if (evidence.forwardDifference === undefined) return undefined;
  const d = evidence.forwardDifference;
  return check(
    'randomized-outputs',
    d <= CHECK_THRESHOLDS.forwardDifference,
    `two forward passes on the same inputs differ by at most ${d.toPrecision(3)} (relative to the largest logit)`,
    `The model's outputs are random, so one gradient is a noisy sample: use EOT (average gradients over many passes, Athalye et al. 2018) and evaluate the expected prediction.`,
  );
}

export function perturbationOutsideBudget(evidence: CheckEvidence): MaskingCheck | undefined {
  if (evidence.perEps.length === 0) return undefined;
  const over = evidence.perEps.filter((e) => e.maxNorm > e.eps * (1 + CHECK_THRESHOLDS.budgetSlack) + 1e-7);
  return check(
    'perturbation-outside-budget',
    over.length === 0,
    `largest ${evidence.norm} perturbation counted: ${evidence.perEps.map((e) => `ε=${e.eps}: ${e.maxNorm.toPrecision(4)}`).join('; ')}`,
    'An adversarial example outside the budget was counted: this is a bug in gibbon; please report it with the model and threat model.',
  );
}

/** Every applicable check, in a fixed order. */
export function maskingChecks(evidence: CheckEvidence): MaskingCheck[] {
  return [
    iterativeWeakerThanSingleStep(evidence),
    unboundedAttackNotReachingZero(evidence),
    noiseStrongerThanAttack(evidence),
    lossNotIncreasing(evidence),
    zeroGradients(evidence),
    accuracyNotMonotoneInEps(evidence),
    blackBoxStrongerThanWhiteBox(evidence),
    randomizedOutputs(evidence),
    perturbationOutsideBudget(evidence),
  ].filter((c): c is MaskingCheck => c !== undefined);
}
