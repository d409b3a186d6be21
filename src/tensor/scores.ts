/** One example's class scores (a row of logits): softmax, the best and the worst class. */

/** Softmax of one row, stably (max subtracted), in float64 so that reported confidences keep their digits. */
export function softmax(row: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < row.length; j++) m = Math.max(m, row[j]!);
  const out = new Float64Array(row.length);
  let s = 0;
  for (let j = 0; j < row.length; j++) s += out[j] = Math.exp(row[j]! - m);
  for (let j = 0; j < row.length; j++) out[j]! /= s;
  return out;
}

/** Index of the largest value (the first on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
  return best;
}

/** Index of the smallest value (the first on ties). */
export function argmin(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! < row[best]!) best = j;
  return best;
}

/** The class with the largest score, per row of (N, C) scores. */
export function argmaxPerRow(scores: { readonly data: Float32Array; readonly shape: readonly number[] }, numClasses: number): number[] {
  const n = scores.shape[0]!;
  return Array.from({ length: n }, (_, i) => argmax(scores.data.subarray(i * numClasses, (i + 1) * numClasses)));
}
