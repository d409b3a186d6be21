/**
 * Bit-depth reduction: x ↦ Round(x·(2^b − 1)) / (2^b − 1), which keeps 2^b grey levels per
 * channel of an image in [0, 1].
 *
 * Paper: Xu, Evans & Qi, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural
 * Networks", NDSS 2018, https://arxiv.org/abs/1704.01155 (Section 3.1; 1 bit for MNIST).
 * Threat model: a preprocessing defense against any input perturbation. Round has a zero
 * gradient almost everywhere, so plain gradient attacks stall on it; evaluate it with BPDA
 * (`nonDifferentiable: 'identity'` or a surrogate for Round; docs/defenses.md).
 * Options: bits b, an integer from 1 to 16 (float32 keeps every level exact).
 *
 * @example
 * ```ts
 * const defended = applyInputTransforms(model, [bitDepth(4)]);
 * ```
 */
import { DataType as DT } from '../../onnx/dtypes.js';
import { checkInteger, type InputTransform } from './input-transform.js';

export function bitDepth(bits: number): InputTransform {
  checkInteger(bits, 1, 16, 'bit depth', 'bits');
  const levels = 2 ** bits - 1;
  return {
    name: `bit-depth:${bits}`,
    description: `bit-depth reduction to ${bits} bit${bits === 1 ? '' : 's'} (${levels + 1} levels per channel; Xu et al. 2018)`,
    randomized: false,
    levels: levels + 1,
    emit(b, x) {
      const k = b.constant(DT.FLOAT, [], Float32Array.of(levels), 'bit_depth_levels');
      const rounded = b.op('Round', [b.op('Mul', [x, k], {}, { name: 'bit_depth_scale' })], {}, { name: 'bit_depth_round' });
      return b.op('Div', [rounded, k], {}, { name: 'bit_depth' });
    },
  };
}
