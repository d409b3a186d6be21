/**
 * The values of an input .npy as float32: float32 and float64 as they are, uint8 mapped linearly
 * from 0…255 onto the input domain ([0, 1] divides by 255, [0, 255] keeps the values), with a note
 * saying so. Other dtypes are the caller's error to report, naming its option.
 */
import { toFloat32 } from './npy.js';
import type { AnyTensor } from './tensor.js';

export function inputValues(t: AnyTensor, path: string, domain: readonly [number, number]): { data: Float32Array; note?: string } | undefined {
  if (t.type === 'float32' || t.type === 'float64') return { data: toFloat32(t) };
  if (t.type !== 'uint8') return undefined;
  const [lo, hi] = domain;
  return {
    data: Float32Array.from(t.data as Uint8Array, (v) => lo + (v / 255) * (hi - lo)),
    note:
      lo === 0 && hi === 1
        ? `note: ${path} holds uint8 pixels; scaled by 1/255 to [0, 1]`
        : `note: ${path} holds uint8 values; mapped from 0…255 onto the input domain [${lo}, ${hi}]`,
  };
}
