/**
 * A TF-IDF + logistic-regression text classifier given as plain JSON weights, the format of
 * scikit-learn models exported for JavaScript, e.g. the prompt-injection, jailbreak and
 * malicious-prompt detectors shipped in the npm package `llm_guardrail` (2.1.2, ISC;
 * `model/prompt_injection_model.json`):
 *
 * ```json
 * { "vocabulary": {"ignore": 8123, "ignore previous": 8124, …}, "idf": [… one per feature …],
 *   "ngram_range": [1, 2], "lowercase": true, "coefficients": [[… one per feature …]], "intercept": [b] }
 * ```
 *
 * Scores as that package computes them: lower-case, words = runs of two or more ASCII word
 * characters (`\b\w\w+\b`), n-grams in the range joined by one space, raw counts × idf, L2
 * normalisation, z = w·x + b; class 1 (the threat) when σ(z) > 0.5. As a `TextClassifier` it
 * answers the two-class logits (0, z), whose softmax is (1 − σ(z), σ(z)). A black box: attack it
 * directly, or serve it (text-endpoint-server.ts) and attack it over HTTP.
 */
import { GibbonError } from '../errors.js';
import { readRegularFile } from '../tensor/regular-file.js';
import type { TextClassifier } from './classifier.js';

/** Largest weights file read (bytes). */
const MAX_MODEL_BYTES = 256 * 1024 * 1024;
const MAX_FEATURES = 1 << 24;

export interface TfidfLogisticWeights {
  readonly vocabulary: ReadonlyMap<string, number>;
  readonly idf: Float64Array;
  readonly coefficients: Float64Array;
  readonly intercept: number;
  readonly ngramRange: readonly [number, number];
  readonly lowercase: boolean;
}

/** Validates parsed JSON weights; `where` names their source in messages. */
export function checkTfidfLogisticWeights(json: unknown, where: string): TfidfLogisticWeights {
  const fail = (what: string): never => {
    throw new GibbonError('invalid_model', `${where}: ${what}`, { path: where });
  };
  if (typeof json !== 'object' || json === null) return fail('not a JSON object');
  const o = json as Record<string, unknown>;
  const numbers = (name: string, value: unknown): Float64Array => {
    if (!Array.isArray(value) || value.length === 0 || value.length > MAX_FEATURES || value.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      fail(`${name} must be a non-empty array of finite numbers`);
    }
    return Float64Array.from(value as number[]);
  };
  const idf = numbers('idf', o.idf);
  const n = idf.length;
  if (!Array.isArray(o.coefficients) || o.coefficients.length !== 1) fail('coefficients must be [[one weight per feature]] (a binary model)');
  const coefficients = numbers('coefficients[0]', (o.coefficients as unknown[])[0]);
  if (coefficients.length !== n) fail(`coefficients[0] has ${coefficients.length} weights but idf has ${n} features`);
  const intercept = numbers('intercept', o.intercept);
  if (intercept.length !== 1) fail('intercept must hold one number');
  const range = o.ngram_range;
  if (!Array.isArray(range) || range.length !== 2 || !range.every((x) => Number.isInteger(x)) || range[0] < 1 || range[1] < range[0] || range[1] > 5) {
    fail('ngram_range must be [min, max] with 1 ≤ min ≤ max ≤ 5');
  }
  if (typeof o.lowercase !== 'boolean') fail('lowercase must be true or false');
  if (typeof o.vocabulary !== 'object' || o.vocabulary === null || Array.isArray(o.vocabulary)) fail('vocabulary must be an object {term: feature index}');
  const vocabulary = new Map<string, number>();
  for (const [term, index] of Object.entries(o.vocabulary as Record<string, unknown>)) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n)
      fail(`vocabulary term ${JSON.stringify(term)} has index ${String(index)}, not a feature (0–${n - 1})`);
    vocabulary.set(term, index as number);
  }
  return { vocabulary, idf, coefficients, intercept: intercept[0]!, ngramRange: range as [number, number], lowercase: o.lowercase as boolean };
}

export class TfidfLogisticModel implements TextClassifier {
  readonly classes = 2;
  readonly labels?: readonly string[];

  constructor(
    readonly weights: TfidfLogisticWeights,
    labels?: readonly [string, string],
  ) {
    if (labels) this.labels = [...labels];
  }

  /** Reads and checks a weights file (size-capped). */
  static fromFile(path: string, labels?: readonly [string, string]): TfidfLogisticModel {
    const bytes = readRegularFile(path, { what: 'TF-IDF model file', maxBytes: MAX_MODEL_BYTES, code: 'invalid_model' });
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      throw new GibbonError('invalid_model', `${path} is not a UTF-8 JSON file (${(e as Error).message})`, { path });
    }
    return new TfidfLogisticModel(checkTfidfLogisticWeights(json, path), labels);
  }

  /** z = w·tfidf(text) + b: the log-odds of class 1. */
  logOdds(text: string): number {
    const w = this.weights;
    const words = (w.lowercase ? text.toLowerCase() : text).match(/\b\w\w+\b/g) ?? [];
    const counts = new Map<number, number>();
    for (let size = w.ngramRange[0]; size <= w.ngramRange[1]; size++) {
      for (let i = 0; i + size <= words.length; i++) {
        const index = w.vocabulary.get(words.slice(i, i + size).join(' '));
        if (index !== undefined) counts.set(index, (counts.get(index) ?? 0) + 1);
      }
    }
    let dot = 0;
    let norm = 0;
    for (const [index, count] of counts) {
      const v = count * w.idf[index]!;
      dot += v * w.coefficients[index]!;
      norm += v * v;
    }
    return w.intercept + (norm > 0 ? dot / Math.sqrt(norm) : 0);
  }

  async scores(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => Float32Array.of(0, this.logOdds(t)));
  }
}
