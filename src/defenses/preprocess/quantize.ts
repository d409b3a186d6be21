/**
 * Uniform quantisation to L levels on [0, 1], written with ONNX's own quantisation ops:
 * q = QuantizeLinear(x, 1/(L − 1), 0) as uint8, then DequantizeLinear(q, 1/(L − 1), 0). This is
 * how a quantised deployment (an int8/uint8 input stage) looks, so evaluating it exercises the
 * ops real quantised models contain.
 *
 * Relationship to bitDepth: quantize(2^b) computes Round(x / s)·s with s = float32(1/(2^b − 1))
 * where bitDepth(b) computes Round(x·(2^b − 1)) / (2^b − 1): the same levels, up to one float32
 * rounding of s (levels may differ in the last bit; a pixel exactly between two levels may round
 * differently). Any L from 2 to 256 is allowed, not only powers of two. Inputs are clamped to
 * [0, 255·s] by the uint8 saturation (≥ 1, so images in [0, 1] are not clipped).
 *
 * Paper: the quantiser is the bit-depth squeezer of Xu, Evans & Qi, "Feature Squeezing", NDSS 2018,
 * https://arxiv.org/abs/1704.01155, with L levels instead of 2^b. Threat model: a preprocessing
 * defense against any input perturbation. QuantizeLinear and DequantizeLinear are
 * non-differentiable for gibbon (zero gradient); evaluate with BPDA (`nonDifferentiable:
 * 'identity'` passes the gradient straight through both, which composes to the identity).
 * Options: levels L, an integer from 2 to 256.
 *
 * @example
 * ```ts
 * const defended = applyInputTransforms(model, [quantize(16)]);
 * ```
 */
import { DataType as DT } from '../../onnx/dtypes.js';
import { checkInteger, type InputTransform } from './input-transform.js';

export function quantize(levels: number): InputTransform {
  checkInteger(levels, 2, 256, 'quantisation levels', 'levels');
  return {
    name: `quantize:${levels}`,
    description: `uniform quantisation to ${levels} levels on [0, 1] (QuantizeLinear → DequantizeLinear, uint8)`,
    randomized: false,
    levels,
    emit(b, x) {
      const scale = b.constant(DT.FLOAT, [], Float32Array.of(1 / (levels - 1)), 'quantize_scale');
      const zero = b.constant(DT.UINT8, [], Uint8Array.of(0), 'quantize_zero_point');
      const q = b.op('QuantizeLinear', [x, scale, zero], {}, { name: 'quantize' });
      return b.op('DequantizeLinear', [q, scale, zero], {}, { name: 'dequantize' });
    },
  };
}
