/**
 * A text classifier that is any JavaScript function from texts to class scores (a model in
 * another runtime, a rule set, a library's classifier), made a `TextClassifier` so that text
 * attacks and the harness can query it as a black box. Every answer is checked: one row of
 * `classes` finite scores per text (nested rows or a flat row-major array). With `outputs:
 * 'probabilities'`, `scores` gives log-probabilities (same argmax, softmax gives back what the
 * function said).
 *
 * @example
 * const model = new FunctionTextModel((texts) => texts.map((t) => (/free money/i.test(t) ? [0, 1] : [1, 0])), { classes: 2, labels: ['ham', 'spam'] });
 */
import { GibbonError } from '../errors.js';
import { scoreRows, toLogits } from '../model/remote/class-scores.js';
import type { TextClassifier } from './classifier.js';

export type TextScoreFunction = (texts: readonly string[]) => Promise<Float32Array | number[][]> | Float32Array | number[][];

export interface FunctionTextModelOptions {
  readonly classes: number;
  readonly labels?: readonly string[];
  /** What the function returns (default 'logits'). */
  readonly outputs?: 'logits' | 'probabilities';
}

/** Checks a model's answer for n texts and splits it into rows (probabilities become log-probabilities). */
export function textScoreRows(answer: unknown, n: number, classes: number, outputs: 'logits' | 'probabilities', fail: (m: string) => Error): Float32Array[] {
  const { data } = scoreRows(answer, n, classes, fail);
  const logits = toLogits(data, n, classes, outputs, fail).data;
  return Array.from({ length: n }, (_, i) => logits.slice(i * classes, (i + 1) * classes));
}

export function checkClassCount(classes: number, labels: readonly string[] | undefined): void {
  if (!Number.isInteger(classes) || classes < 2)
    throw new GibbonError('invalid_option', `classes must be an integer ≥ 2; got ${classes}`, { option: 'classes' });
  if (labels !== undefined && labels.length !== classes) {
    throw new GibbonError('invalid_option', `labels names ${labels.length} classes but classes is ${classes}`, { option: 'labels' });
  }
}

export class FunctionTextModel implements TextClassifier {
  readonly classes: number;
  readonly labels?: readonly string[];
  readonly #fn: TextScoreFunction;
  readonly #outputs: 'logits' | 'probabilities';

  constructor(fn: TextScoreFunction, options: FunctionTextModelOptions) {
    if (typeof fn !== 'function')
      throw new GibbonError('invalid_option', `FunctionTextModel needs a function (texts) => scores; got ${typeof fn}`, { option: 'fn' });
    checkClassCount(options.classes, options.labels);
    const outputs = options.outputs ?? 'logits';
    if (outputs !== 'logits' && outputs !== 'probabilities') {
      throw new GibbonError('invalid_option', `outputs must be 'logits' or 'probabilities'; got ${String(outputs)}`, { option: 'outputs' });
    }
    this.classes = options.classes;
    if (options.labels) this.labels = [...options.labels];
    this.#fn = fn;
    this.#outputs = outputs;
  }

  async scores(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const answer = await this.#fn([...texts]);
    return textScoreRows(answer, texts.length, this.classes, this.#outputs, (m) => new GibbonError('invalid_model', `the text classifier function: ${m}`));
  }
}
