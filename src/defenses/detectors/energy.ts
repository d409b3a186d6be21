/**
 * Energy score: s(x) = −T·logsumexp(z(x)/T), the free energy of the logits. Unlike the maximum
 * softmax probability it does not saturate, so it separates in- from out-of-distribution inputs
 * better on the same classifier.
 *
 * Paper: Liu, Wang, Owens & Li, "Energy-based Out-of-distribution Detection", NeurIPS 2020,
 * https://arxiv.org/abs/2010.03759
 * Threat model: none of its own; no fitting. Options: temperature T (default 1, as in the paper).
 *
 * @example
 * ```ts
 * const equipped = buildDetectorModel(loadModel('mnist.onnx'), { kind: 'energy', temperature: 1 });
 * ```
 */
import { GibbonError } from '../../errors.js';
import type { DetectorScore, EnergyParams, ScoreContext } from './score-context.js';

export const DEFAULT_TEMPERATURE = 1;

export function emitEnergyScore(ctx: ScoreContext, params: EnergyParams): string {
  const { b } = ctx;
  const t = params.temperature;
  if (!(t > 0) || !Number.isFinite(t)) {
    throw new GibbonError('invalid_option', `energy temperature must be a finite number > 0; got ${t}`, { option: 'temperature' });
  }
  const scaled = t === 1 ? ctx.logits : b.op('Div', [ctx.logits, b.scalar(t)], {}, { name: 'energy/scaled' });
  const lse = b.op('ReduceLogSumExp', [scaled, b.int64s([1])], { keepdims: 0 }, { name: 'energy/logsumexp' });
  return b.op('Mul', [lse, b.scalar(-t)], {}, { name: 'energy/score' });
}

export const energyDetector: DetectorScore<EnergyParams> = { kind: 'energy', emitScore: emitEnergyScore };
