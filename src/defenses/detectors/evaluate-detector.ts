/**
 * How well a calibrated detector separates what it should flag from clean inputs, under a stated
 * protocol (docs/detection.md):
 *
 * - OOD: the detector's scores on n out-of-distribution inputs (positives) against n clean
 *   in-distribution test inputs (negatives).
 * - Plain adversarial: FGSM and PGD (L∞, ε) against the classifier alone, on the first
 *   `attackN` test examples that the classifier gets right; positives are the adversarial
 *   examples that are misclassified, negatives their clean originals (paired). The attacker does
 *   not know about the detector.
 * - Adaptive: the adaptive attack (adaptive-attack.ts) on the same examples, with full knowledge
 *   of classifier, detector and threshold; positives are its misclassified examples, negatives
 *   their originals.
 *
 * Per row: AUROC, TPR at 5% FPR (threshold set on the row's own negatives), the calibrated
 * threshold's TPR and FPR, and for attacks the attacker's success rate: misclassified AND not
 * flagged at the calibrated threshold, over the examples attacked.
 */
import { runAttack } from '../../attacks/attack.js';
import { FgsmAttack } from '../../attacks/fgsm.js';
import { PgdAttack } from '../../attacks/pgd.js';
import { gradientOracle, type DifferentiableModel } from '../../model/oracles.js';
import { deriveSeed } from '../../random.js';
import { gatherRows } from '../../tensor/rows.js';
import { argmaxRows, type Tensor } from '../../tensor/tensor.js';
import { auroc, rates, rocCurve, thinCurve, tprAtFpr } from '../roc.js';
import { adaptiveAttack, ADAPTIVE_DEFAULTS, type AdaptiveAttackOptions } from './adaptive-attack.js';
import type { DetectorParams } from './score-context.js';
import type { DetectorFile } from './detector-file.js';
import type { EquippedModel } from './equipped-model.js';
import { parseSqueezers } from './feature-squeezing.js';

export const DETECTION_REPORT_FORMAT = 'gibbon-detection-report';
export const REPORTED_FPR = 0.05;

export type PlainAttackName = 'fgsm' | 'pgd';

export interface DetectionRow {
  readonly name: string;
  readonly kind: 'ood' | 'plain' | 'adaptive';
  /** Positives (flag-worthy inputs) and negatives (clean inputs) scored. */
  readonly positives: number;
  readonly negatives: number;
  readonly auroc: number | null;
  readonly tpr_at_5_fpr: number | null;
  /** At the calibrated threshold. */
  readonly tpr_at_threshold: number | null;
  readonly fpr_at_threshold: number | null;
  /** Attacks: examples attacked (clean-correct), misclassified after the attack, and misclassified-and-undetected. */
  readonly attacked?: number;
  readonly misclassified_rate?: number;
  readonly undetected_success_rate?: number;
  readonly eps?: number;
  readonly seconds: number;
  /** ROC points [fpr, tpr] (thinned), for charts. */
  readonly roc: readonly (readonly [number, number])[];
}

export interface DetectionReport {
  readonly format: typeof DETECTION_REPORT_FORMAT;
  readonly version: 1;
  readonly gibbon_version: string;
  readonly model: { readonly path: string; readonly sha256: string };
  readonly detector: {
    readonly path: string;
    readonly kind: string;
    readonly description: string;
    readonly threshold: number;
    readonly target_fpr: number;
    readonly calibration: DetectorFile['calibration'];
    readonly features?: string;
  };
  readonly data: { readonly in_distribution: string; readonly n: number; readonly attack_n: number };
  readonly seed: number;
  readonly eps: number;
  /** search_queries: forward passes of the quantised-branch search (adaptive-attack.ts). */
  readonly adaptive: (Omit<AdaptiveAttackOptions, 'eps' | 'stepSize'> & { readonly step_size: number; readonly search_queries: number }) | null;
  /** Clean in-distribution test inputs flagged at the calibrated threshold. */
  readonly clean_fpr_at_threshold: number;
  readonly clean_accuracy: number;
  readonly rows: readonly DetectionRow[];
  readonly seconds: number;
}

export interface DetectionEvaluationInput {
  /** The classifier alone (plain attacks). */
  readonly classifier: DifferentiableModel;
  /** The classifier with the detector (scores, adaptive attack). */
  readonly equipped: EquippedModel;
  readonly detector: DetectorFile;
  readonly detectorPath: string;
  readonly modelPath: string;
  readonly inDistribution: { readonly name: string; readonly x: Tensor; readonly y: Int32Array };
  readonly outOfDistribution: readonly { readonly name: string; readonly x: Tensor }[];
  /** Examples of the in-distribution set to attack (the first ones the classifier gets right). */
  readonly attackN: number;
  readonly eps: number;
  readonly seed: number;
  readonly plainAttacks: readonly PlainAttackName[];
  /** Adaptive attack options; null skips it. */
  readonly adaptive: Partial<Omit<AdaptiveAttackOptions, 'eps'>> | null;
  readonly gibbonVersion: string;
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

export function describeDetector(file: DetectorFile): string {
  const d = file.detector;
  switch (d.kind) {
    case 'msp':
      return 'maximum softmax probability (Hendrycks & Gimpel 2017)';
    case 'energy':
      return `energy score, T = ${d.temperature} (Liu et al. 2020)`;
    case 'mahalanobis':
      return `Mahalanobis distance on '${d.features}' (${d.precision.length} features; Lee et al. 2018)`;
    case 'squeeze':
      return `feature squeezing with ${d.squeezers.join(', ')} (Xu et al. 2018)`;
    case 'combined':
      return `combined: max of standardised ${d.parts.map((p) => p.detector.kind).join(', ')} scores`;
  }
}

/**
 * The grey levels of the detector's quantising squeezer (bit-depth:B → 2^B, quantize:L → L), when
 * it has exactly one, for the adaptive attack's quantised phase; otherwise undefined.
 */
export function quantizerLevels(params: DetectorParams): number | undefined {
  const squeezers =
    params.kind === 'squeeze'
      ? params.squeezers
      : params.kind === 'combined'
        ? params.parts.flatMap((p) => (p.detector.kind === 'squeeze' ? p.detector.squeezers : []))
        : [];
  if (squeezers.length === 0) return undefined;
  const levels = parseSqueezers(squeezers, 'detector.squeezers').flatMap((t) => (t.levels === undefined ? [] : [t.levels]));
  return levels.length === 1 ? levels[0] : undefined;
}

function row(
  name: string,
  kind: DetectionRow['kind'],
  pos: Float32Array,
  neg: Float32Array,
  threshold: number,
  seconds: number,
  extra: Partial<DetectionRow> = {},
): DetectionRow {
  const empty = pos.length === 0 || neg.length === 0;
  const at = empty ? undefined : rates(pos, neg, threshold);
  return {
    name,
    kind,
    positives: pos.length,
    negatives: neg.length,
    auroc: empty ? null : auroc(pos, neg),
    tpr_at_5_fpr: empty ? null : tprAtFpr(pos, neg, REPORTED_FPR),
    tpr_at_threshold: at ? at.tpr : null,
    fpr_at_threshold: at ? at.fpr : null,
    seconds,
    roc: empty ? [] : thinCurve(rocCurve(pos, neg)).map((p) => [p.fpr, p.tpr] as const),
    ...extra,
  };
}

/** Scores of the pairs (adversarial, original) where the adversarial example is misclassified. */
function pairedScores(advScore: Float32Array, misclassified: Uint8Array, cleanScore: Float32Array): { pos: Float32Array; neg: Float32Array } {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < misclassified.length; i++) {
    if (!misclassified[i]) continue;
    pos.push(advScore[i]!);
    neg.push(cleanScore[i]!);
  }
  return { pos: Float32Array.from(pos), neg: Float32Array.from(neg) };
}

export async function evaluateDetector(input: DetectionEvaluationInput): Promise<DetectionReport> {
  const started = performance.now();
  const { equipped, detector } = input;
  const threshold = detector.threshold;
  const progress = input.onProgress ?? (() => undefined);
  const rows: DetectionRow[] = [];
  const inn = input.inDistribution;
  const n = inn.x.shape[0]!;

  progress('clean scores', 0, n);
  const clean = await equipped.run(inn.x);
  const predicted = argmaxRows(clean.logits);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === inn.y[i]) correct++;

  for (const ood of input.outOfDistribution) {
    const t0 = performance.now();
    progress(`OOD ${ood.name}`, 0, ood.x.shape[0]!);
    const s = (await equipped.run(ood.x)).score;
    rows.push(row(`OOD: ${ood.name}`, 'ood', s, clean.score, threshold, (performance.now() - t0) / 1000));
  }

  // The attacked examples: the first attackN test examples the classifier gets right.
  const attackedIdx: number[] = [];
  for (let i = 0; i < n && attackedIdx.length < input.attackN; i++) if (predicted[i] === inn.y[i]) attackedIdx.push(i);
  const idx = Int32Array.from(attackedIdx);
  const xa = gatherRows(inn.x, idx);
  const ya = Int32Array.from(idx, (i) => inn.y[i]!);
  const cleanA = Float32Array.from(idx, (i) => clean.score[i]!);
  const m = idx.length;

  const attackRow = (name: string, kind: 'plain' | 'adaptive', misclassified: Uint8Array, score: Float32Array, seconds: number): DetectionRow => {
    const { pos, neg } = pairedScores(score, misclassified, cleanA);
    let undetected = 0;
    for (let i = 0; i < m; i++) if (misclassified[i] && score[i]! <= threshold) undetected++;
    return row(name, kind, pos, neg, threshold, seconds, {
      attacked: m,
      eps: input.eps,
      misclassified_rate: m === 0 ? 0 : pos.length / m,
      undetected_success_rate: m === 0 ? 0 : undetected / m,
    });
  };

  const oracle = gradientOracle(input.classifier);
  for (const name of input.plainAttacks) {
    if (m === 0) break;
    const t0 = performance.now();
    const attack = name === 'fgsm' ? new FgsmAttack() : new PgdAttack();
    progress(`${name.toUpperCase()} ε=${input.eps}`, 0, 1);
    const outcome = await runAttack(attack, oracle, xa, ya, {
      eps: input.eps,
      norm: 'linf',
      seed: input.seed,
      onProgress: (p) => progress(`${name.toUpperCase()} ε=${input.eps}`, p.step + 1, p.steps),
    });
    const judged = await equipped.run(outcome.clipped);
    const label = `${name === 'fgsm' ? 'FGSM' : 'PGD'} ε=${input.eps} (plain)`;
    rows.push(attackRow(label, 'plain', outcome.success, judged.score, (performance.now() - t0) / 1000));
  }

  let adaptiveOptions: DetectionReport['adaptive'] = null;
  if (input.adaptive && m > 0) {
    const options: AdaptiveAttackOptions = { ...ADAPTIVE_DEFAULTS, ...input.adaptive, eps: input.eps };
    const stepSize = options.stepSize ?? (2.5 * options.eps) / options.steps;
    const stated = {
      steps: options.steps,
      lambdas: options.lambdas,
      kappa: options.kappa,
      delta: options.delta,
      quantizedSearch: options.quantizedSearch,
      step_size: stepSize,
    };
    const t0 = performance.now();
    const total = options.steps * options.lambdas.length;
    const result = await adaptiveAttack(
      equipped,
      xa,
      ya,
      { threshold, scale: detector.calibration.score_std, quantizerLevels: quantizerLevels(detector.detector) },
      options,
      {
        seed: deriveSeed(input.seed, 'adaptive-detector', input.eps),
        onProgress: (p) =>
          progress(
            `adaptive PGD ε=${input.eps}${p.phase === 'pinned' ? ' (squeezed levels pinned)' : ''}`,
            options.lambdas.indexOf(p.lambda) * options.steps + p.step + 1,
            total,
          ),
      },
    );
    adaptiveOptions = { ...stated, search_queries: result.searchQueries };
    rows.push(attackRow(`adaptive PGD ε=${input.eps}`, 'adaptive', result.misclassified, result.score, (performance.now() - t0) / 1000));
  }

  const d = detector.detector;
  return {
    format: DETECTION_REPORT_FORMAT,
    version: 1,
    gibbon_version: input.gibbonVersion,
    model: { path: input.modelPath, sha256: detector.model.sha256 },
    detector: {
      path: input.detectorPath,
      kind: d.kind,
      description: describeDetector(detector),
      threshold,
      target_fpr: detector.target_fpr,
      calibration: detector.calibration,
      features: detector.features_choice,
    },
    data: { in_distribution: inn.name, n, attack_n: m },
    seed: input.seed,
    eps: input.eps,
    adaptive: adaptiveOptions,
    clean_fpr_at_threshold: rates([], clean.score, threshold).fpr,
    clean_accuracy: correct / n,
    rows,
    seconds: (performance.now() - started) / 1000,
  };
}
