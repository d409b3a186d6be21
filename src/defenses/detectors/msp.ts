/**
 * Maximum softmax probability: s(x) = −max_c softmax(z(x))_c. A confident prediction is a low
 * score; inputs far from the training data tend to get flatter softmax outputs.
 *
 * Paper: Hendrycks & Gimpel, "A Baseline for Detecting Misclassified and Out-of-Distribution
 * Examples in Neural Networks", ICLR 2017, https://arxiv.org/abs/1610.02136
 * Threat model: none of its own; it needs no fitting (only a calibrated threshold). Adversarial
 * examples made with high confidence defeat it by construction.
 *
 * @example
 * ```ts
 * const equipped = buildDetectorModel(loadModel('mnist.onnx'), { kind: 'msp' });
 * ```
 */
import type { DetectorScore, MspParams, ScoreContext } from './score-context.js';

export function emitMspScore(ctx: ScoreContext): string {
  const { b } = ctx;
  const p = b.op('Softmax', [ctx.logits], { axis: 1 }, { name: 'msp/softmax' });
  const top = b.op('ReduceMax', [p, b.int64s([1])], { keepdims: 0 }, { name: 'msp/max' });
  return b.op('Neg', [top], {}, { name: 'msp/score' });
}

export const mspDetector: DetectorScore<MspParams> = { kind: 'msp', emitScore: (ctx) => emitMspScore(ctx) };
