/**
 * Runs a gradient attack (PGD, FGSM, APGD …, any fixed-ε attack on a GradientOracle with the 'ce'
 * loss family) on a CTC sequence recogniser, through the ordinary harness: the clean inputs are
 * decoded first, and success is judged by decoding the clipped adversarial inputs again.
 * - untargeted (no `targets`): success when the transcription changes; the attack ascends
 *   +CTC(clean transcription);
 * - targeted: success when the transcription equals the example's target; it ascends −CTC(target).
 * Examples whose clean transcription already is the target are refused (sequence-criterion.ts).
 *
 * @example
 * ```ts
 * const model = await SequenceOnnxModel.load('crnn.onnx', { charset: '0123456789' });
 * const r = await runSequenceAttack(new PgdAttack({ steps: 50 }), model, x, {
 *   eps: 0.1, norm: 'linf', targets: ['1234', '5678'].map((t) => model.encode(t)),
 * });
 * // r.outcome.success: 1 where the line now reads its target; r.adversarial: what it reads.
 * ```
 */
import { sequenceCriterion } from '../criteria/sequence-criterion.js';
import type { Bounds } from '../model/bounds.js';
import type { GradientOracle } from '../model/oracles.js';
import type { LabelSequences, SequenceOnnxModel } from '../model/sequence-model.js';
import { sequenceGradientOracle } from '../model/sequence-oracle.js';
import type { Norm, NormName } from '../norms/norm.js';
import type { Tensor } from '../tensor/tensor.js';
import { runAttack, type Attack, type AttackOutcome, type AttackProgress } from './attack.js';

export interface SequenceAttackOptions {
  /** Perturbation budget ε in the norm `norm`. Required. */
  readonly eps: number;
  /** The norm of the ε-ball: a Norm object or its name ('linf', 'l2'). Required. */
  readonly norm: Norm | NormName;
  /** Target sequence per example: makes the attack targeted. */
  readonly targets?: LabelSequences;
  /** Input domain (default [0, 1]). */
  readonly bounds?: Bounds;
  /** Seed of the attack's RNG (random start). Default 0. */
  readonly seed?: number;
  /** Aborts the attack between steps. Default none. */
  readonly signal?: AbortSignal;
  /** Called after every step with the step, the steps planned and the examples left. Default none. */
  readonly onProgress?: (progress: AttackProgress & { readonly eps: number }) => void;
}

export interface SequenceAttackOutcome {
  readonly outcome: AttackOutcome;
  /** Clean transcriptions (greedy decoding of x). */
  readonly original: number[][];
  /** Transcriptions of the clipped adversarial inputs. */
  readonly adversarial: number[][];
}

export async function runSequenceAttack(
  attack: Attack<GradientOracle>,
  model: SequenceOnnxModel,
  x: Tensor,
  options: SequenceAttackOptions,
): Promise<SequenceAttackOutcome> {
  const original = await model.decode(x);
  if (options.targets) model.checkTargets(options.targets, x.shape[0]!);
  const goals = { transcriptions: original, targets: options.targets };
  const criterion = sequenceCriterion({ frames: model.frames, classes: model.numClasses, blank: model.blank, ...goals });
  const oracle = sequenceGradientOracle(model, goals, { bounds: options.bounds });
  const outcome = await runAttack(attack, oracle, x, criterion, {
    eps: options.eps,
    norm: options.norm,
    seed: options.seed,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  return { outcome, original, adversarial: await model.decode(outcome.clipped) };
}
