/** Row (example) selection on batched tensors: gather a sub-batch, scatter results back. */
import { GibbonError } from '../errors.js';
import { size, type AnyTensor, type Tensor } from './tensor.js';

/** Number of values per example. */
export function rowSize(t: { readonly shape: readonly number[] }): number {
  return size(t.shape.slice(1));
}

/** A copy of t. */
export function cloneTensor(t: Tensor): Tensor {
  return { data: Float32Array.from(t.data), shape: [...t.shape] };
}

/** The rows `indices` of t, copied into a new batch (in that order). */
export function gatherRows(t: Tensor, indices: ArrayLike<number>): Tensor {
  const row = rowSize(t);
  const n = t.shape[0]!;
  const out = new Float32Array(indices.length * row);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (r < 0 || r >= n) throw new GibbonError('internal', `row ${r} out of range for a batch of ${n}`);
    out.set(t.data.subarray(r * row, (r + 1) * row), i * row);
  }
  return { data: out, shape: [indices.length, ...t.shape.slice(1)] };
}

/** Writes row i of `src` into row indices[i] of `target` (in place). */
export function scatterRows(target: Tensor, indices: ArrayLike<number>, src: Tensor): void {
  const row = rowSize(target);
  if (rowSize(src) !== row || src.shape[0] !== indices.length) {
    throw new GibbonError(
      'internal',
      `scatterRows: ${src.shape[0]} rows of [${src.shape.slice(1).join(', ')}] into ${indices.length} rows of [${target.shape.slice(1).join(', ')}]`,
    );
  }
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    target.data.set(src.data.subarray(i * row, (i + 1) * row), r * row);
  }
}

/** Elements of a per-example array at `indices`. */
export function gatherValues<T extends Float32Array | Int32Array | Uint8Array>(values: T, indices: ArrayLike<number>): T {
  const out = new (values.constructor as new (n: number) => T)(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i]!]!;
  return out;
}

/** Examples with their labels and, when the attack is targeted, their target classes. */
export interface LabelledBatch {
  readonly x: Tensor;
  readonly labels: Int32Array;
  readonly targets?: Int32Array | undefined;
}

/** The examples `indices` of a batch, in that order: inputs, labels and targets gathered together. */
export function subset(
  batch: LabelledBatch,
  indices: ArrayLike<number>,
): { readonly x: Tensor; readonly labels: Int32Array; readonly targets: Int32Array | undefined } {
  return { x: gatherRows(batch.x, indices), labels: gatherValues(batch.labels, indices), targets: batch.targets && gatherValues(batch.targets, indices) };
}

/** Rows [start, end) of x as a float32 feed of `padded` rows (zeros after end). */
export function rowsFeed(x: Tensor, start: number, end: number, padded: number): AnyTensor {
  const row = rowSize(x);
  let data = x.data.subarray(start * row, end * row);
  if (padded !== end - start) {
    const full = new Float32Array(padded * row);
    full.set(data);
    data = full;
  }
  return { type: 'float32', data, shape: [padded, ...x.shape.slice(1)] };
}

/** Labels [start, end) as an int64 feed of `padded` entries (zeros after end). */
export function labelsFeed(labels: ArrayLike<number | bigint>, start: number, end: number, padded: number): AnyTensor {
  const data = new BigInt64Array(padded);
  for (let i = start; i < end; i++) data[i - start] = BigInt(labels[i]!);
  return { type: 'int64', data, shape: [padded] };
}
