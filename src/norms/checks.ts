/** Argument checks shared by the norms. */
import { GibbonError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

export function checkSameShape(a: Tensor, b: Tensor, what: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new GibbonError('invalid_input', `${what}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
}

export function checkEps(eps: number): void {
  if (!(eps >= 0) || !Number.isFinite(eps)) {
    throw new GibbonError('invalid_option', `ε must be a finite number ≥ 0; got ${eps}`, { option: 'eps' });
  }
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** The float32 next to v (a float32 value) in the direction of `toward`. */
export function nextFloat32Toward(v: number, toward: number): number {
  if (v === toward) return v;
  f32[0] = v;
  if (v === 0) {
    i32[0] = 1;
    return toward > 0 ? f32[0] : -f32[0];
  }
  // For floats of one sign, the bit pattern as an integer is monotone in |v|.
  if (toward > v === v > 0) i32[0] = i32[0]! + 1;
  else i32[0] = i32[0]! - 1;
  return f32[0];
}
