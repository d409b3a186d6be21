/**
 * What a black box answers, turned into what a `ClassifierModel` gives: logits (N, C). A black
 * box may answer with logits (kept as they are), probabilities (turned into log-probabilities,
 * whose softmax gives the probabilities back, so a score oracle sees what the box said) or one
 * label per example (turned into one-hot rows; such a model can only back a decision oracle).
 * Every answer is checked: N rows of C finite numbers, probabilities in [0, 1] summing to 1,
 * labels that are classes. Problems are reported through the caller's `fail`, which adds where
 * the answer came from.
 */
import type { Tensor } from '../../tensor/tensor.js';

export const OUTPUT_KINDS = ['logits', 'probabilities', 'label'] as const;
/** What a black box returns per example: class logits, class probabilities, or only the predicted class. */
export type OutputKind = (typeof OUTPUT_KINDS)[number];

/** Builds the error for a problem with an answer (the caller adds its source). */
export type Fail = (message: string) => Error;

/** log(0) would be −∞; this floor keeps log-probabilities finite (softmax still gives ≈ 0). */
const MIN_PROBABILITY = 1e-30;
/** Rounded probabilities (e.g. 4 decimals over 10 classes) may miss 1 by a little. */
const SUM_TOLERANCE = 1e-2;

function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

function checkScore(v: unknown, i: number, j: number, fail: Fail): number {
  if (v === null || (typeof v === 'number' && Number.isNaN(v)))
    throw fail(`score [${i}][${j}] is NaN (${v === null ? 'null' : 'NaN'}); the model gave no usable score`);
  if (typeof v !== 'number') throw fail(`score [${i}][${j}] is ${shown(v)}, not a number`);
  if (!Number.isFinite(v)) throw fail(`score [${i}][${j}] is ${v}; scores must be finite`);
  return v;
}

/**
 * n rows of class scores from nested arrays (`rows`: n arrays of C numbers) or a flat array of
 * n·C numbers. `numClasses` (when known) fixes C. Returns the scores flat, row-major.
 */
export function scoreRows(rows: unknown, n: number, numClasses: number | undefined, fail: Fail): { data: Float32Array; numClasses: number } {
  if (rows instanceof Float32Array || rows instanceof Float64Array) {
    const c = numClasses ?? rows.length / n;
    if (rows.length !== n * c || !Number.isInteger(c) || c < 1) {
      throw fail(`got ${rows.length} scores for ${n} example(s)${numClasses !== undefined ? ` of ${numClasses} classes (expected ${n * numClasses})` : ''}`);
    }
    const data = Float32Array.from(rows);
    for (let k = 0; k < data.length; k++) checkScore(rows[k], Math.floor(k / c), k % c, fail);
    return { data, numClasses: c };
  }
  if (!Array.isArray(rows))
    throw fail(`expected ${n} row(s) of class scores; got ${typeof rows === 'object' ? (rows === null ? 'null' : 'an object') : `a ${typeof rows}`}`);
  if (rows.length !== n) throw fail(`expected ${n} row(s) of class scores (one per example); got ${rows.length}`);
  const first: unknown = rows[0];
  const c = numClasses ?? (Array.isArray(first) ? first.length : 0);
  if (c < 1) throw fail(`expected rows of class scores; row 0 is ${shown(first)}`);
  const data = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    const row: unknown = rows[i];
    if (!Array.isArray(row)) throw fail(`row ${i} is ${shown(row)}, not a list of ${c} class scores`);
    if (row.length !== c)
      throw fail(`row ${i} has ${row.length} scores; expected ${c}${numClasses !== undefined ? ' (the number of classes)' : ' (as row 0)'}`);
    for (let j = 0; j < c; j++) data[i * c + j] = checkScore(row[j], i, j, fail);
  }
  return { data, numClasses: c };
}

/** Logits from checked scores: logits as given, probabilities as log-probabilities. */
export function toLogits(scores: Float32Array, n: number, c: number, kind: 'logits' | 'probabilities', fail: Fail): Tensor {
  if (kind === 'logits') return { data: scores, shape: [n, c] };
  const out = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const p = scores[i * c + j]!;
      if (p < -1e-6 || p > 1 + 1e-6) throw fail(`score [${i}][${j}] = ${p} is not a probability; if the model returns logits, say outputs: logits`);
      sum += p;
      out[i * c + j] = Math.log(Math.max(p, MIN_PROBABILITY));
    }
    if (Math.abs(sum - 1) > SUM_TOLERANCE) {
      throw fail(`the probabilities of row ${i} sum to ${sum.toPrecision(4)}, not 1; if the model returns logits or other scores, say outputs: logits`);
    }
  }
  return { data: out, shape: [n, c] };
}

/** n predicted classes from an array of integers (or a one-element array per example). */
export function labelRows(values: unknown, n: number, numClasses: number, fail: Fail): Int32Array {
  if (!Array.isArray(values)) throw fail(`expected ${n} predicted class(es); got ${shown(values)}`);
  if (values.length !== n) throw fail(`expected ${n} predicted class(es) (one per example); got ${values.length}`);
  return Int32Array.from(values, (v: unknown, i) => {
    const label = Array.isArray(v) && v.length === 1 ? (v[0] as unknown) : v;
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw fail(`label ${i} is ${shown(label)}; expected a class 0…${numClasses - 1}`);
    }
    return label;
  });
}

/** One-hot rows (N, C): the "logits" of a label-only model, whose argmax is the label. */
export function oneHotLogits(labels: Int32Array, c: number): Tensor {
  const out = new Float32Array(labels.length * c);
  for (let i = 0; i < labels.length; i++) out[i * c + labels[i]!] = 1;
  return { data: out, shape: [labels.length, c] };
}
