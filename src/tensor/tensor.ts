/** Host tensors: plain typed arrays with a shape. Images are NCHW float32. */
import { GibbonError } from '../errors.js';

export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** A tensor of any element type, as exchanged with onnxruntime and .npy files. */
export type ElementType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool' | 'float16' | 'string';

export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;

export interface AnyTensor {
  readonly type: ElementType;
  readonly data: TypedData;
  readonly shape: readonly number[];
}

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  if (data.length !== size(shape)) {
    throw new GibbonError('invalid_input', `tensor data has ${data.length} values but shape [${shape.join(', ')}] needs ${size(shape)}`);
  }
  return { data, shape: [...shape] };
}

export function zeros(shape: readonly number[]): Tensor {
  return { data: new Float32Array(size(shape)), shape: [...shape] };
}

/** Rows [start, end) along the first axis (a view, no copy). */
export function sliceBatch<T extends { data: TypedData; shape: readonly number[] }>(t: T, start: number, end: number): T {
  const row = size(t.shape.slice(1));
  const data = t.data.subarray(start * row, end * row);
  return { ...t, data, shape: [end - start, ...t.shape.slice(1)] };
}

/** Concatenate along the first axis. */
export function concatBatch(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) throw new GibbonError('internal', 'concatBatch of nothing');
  const rest = parts[0]!.shape.slice(1);
  const total = parts.reduce((s, p) => s + p.shape[0]!, 0);
  const out = new Float32Array(total * size(rest));
  let offset = 0;
  for (const p of parts) {
    out.set(p.data, offset);
    offset += p.data.length;
  }
  return { data: out, shape: [total, ...rest] };
}

/** Index of the largest value of each row of a (N, C) tensor. */
export function argmaxRows(t: Tensor): Int32Array {
  const [n, c] = [t.shape[0]!, size(t.shape.slice(1))];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = t.data[i * c + j]!;
      if (v > bestV) {
        bestV = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Throws naming the first NaN/Inf position, if any. */
export function assertFinite(t: { data: Float32Array; shape: readonly number[] }, what: string): void {
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i]!)) {
      throw new GibbonError('invalid_input', `${what} contains ${Number.isNaN(t.data[i]!) ? 'NaN' : 'Inf'} at flat index ${i} (shape [${t.shape.join(', ')}])`);
    }
  }
}
