/**
 * Feature squeezing: compare the classifier's prediction on x with its predictions on "squeezed"
 * copies of x (fewer grey levels, median-smoothed); s(x) = max over squeezers of
 * ‖softmax(z(x)) − softmax(z(squeeze(x)))‖₁. Adversarial perturbations are fragile to squeezing,
 * natural images are not.
 *
 * Paper: Xu, Evans & Qi, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural
 * Networks", NDSS 2018, https://arxiv.org/abs/1704.01155 (MNIST: 1-bit depth and a 2×2 median).
 * Threat model: the squeezers are fixed and known to the adaptive attacker; Round (bit depth) has
 * no useful gradient, so the adaptive attack passes gradients through it with the identity (BPDA,
 * Athalye et al. 2018). The squeezers are the preprocessing defenses of ../preprocess, each run
 * through a copy of the classifier inside the same graph.
 * Options: `squeezers`, a list of deterministic steps of ../preprocess/spec.ts (default
 * bit-depth:1 and median:2).
 *
 * @example
 * ```ts
 * const equipped = buildDetectorModel(loadModel('mnist.onnx'), { kind: 'squeeze', squeezers: ['bit-depth:1', 'median:2'] });
 * ```
 */
import { GibbonError } from '../../errors.js';
import { parsePreprocessSpec } from '../preprocess/spec.js';
import type { InputTransform } from '../preprocess/input-transform.js';
import type { DetectorScore, ScoreContext, SqueezeParams } from './score-context.js';

export const DEFAULT_SQUEEZERS: readonly string[] = Object.freeze(['bit-depth:1', 'median:2']);

/** One deterministic transform per squeezer spec; errors name the option. */
export function parseSqueezers(specs: readonly string[], option = 'squeezers'): InputTransform[] {
  if (specs.length === 0) throw new GibbonError('invalid_option', 'feature squeezing needs at least one squeezer, e.g. bit-depth:1', { option });
  return specs.map((spec) => {
    const steps = parsePreprocessSpec(spec, option);
    if (steps.length !== 1) throw new GibbonError('invalid_option', `squeezer '${spec}' should be one step, e.g. bit-depth:1 or median:2`, { option });
    const t = steps[0]!;
    if (t.randomized)
      throw new GibbonError(
        'invalid_option',
        `squeezer '${spec}' is randomised; feature squeezing needs deterministic squeezers (bit-depth, median, quantize)`,
        { option },
      );
    return t;
  });
}

export function emitSqueezeScore(ctx: ScoreContext, params: SqueezeParams): string {
  const { b } = ctx;
  const transforms = parseSqueezers(params.squeezers, 'detector.squeezers');
  const p = b.op('Softmax', [ctx.logits], { axis: 1 }, { name: 'squeeze/softmax' });
  const distances = transforms.map((t, k) => {
    const squeezed = t.emit(b, ctx.input, ctx.inputShape);
    const z = ctx.classifierOn(squeezed, `squeeze${k}`);
    const q = b.op('Softmax', [z], { axis: 1 }, { name: `squeeze${k}/softmax` });
    const diff = b.op('Abs', [b.op('Sub', [p, q], {}, { name: `squeeze${k}/diff` })], {}, { name: `squeeze${k}/abs` });
    return b.op('ReduceSum', [diff, b.int64s([1])], { keepdims: 0 }, { name: `squeeze${k}/l1` });
  });
  return distances.length === 1 ? distances[0]! : b.op('Max', distances, {}, { name: 'squeeze/score' });
}

export const squeezeDetector: DetectorScore<SqueezeParams> = { kind: 'squeeze', emitScore: emitSqueezeScore };
