/**
 * Greedy CTC decoding and the mapping between label sequences and text, shared by sequence models,
 * sequence criteria and the CLI. Greedy (best-path) decoding: the top class per frame, repeats
 * merged, blanks dropped — what CRNN and PaddleOCR recognisers ship with.
 */
import { GibbonError } from '../errors.js';

/** Best-path decoding of one example's per-frame scores, laid out (T, C) row after row. */
export function ctcGreedyDecode(scores: ArrayLike<number>, frames: number, classes: number, blank: number): number[] {
  const out: number[] = [];
  let previous = -1;
  for (let t = 0; t < frames; t++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[t * classes + c]! > scores[t * classes + best]!) best = c;
    if (best !== previous && best !== blank) out.push(best);
    previous = best;
  }
  return out;
}

export function sameSequence(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The characters of a recogniser's non-blank classes, in class order (PaddleOCR's dictionary
 * convention: the blank takes its own index and the characters fill the others).
 */
export class Charset {
  private readonly symbols: readonly string[];
  private readonly index = new Map<string, number>();

  constructor(
    symbols: string | readonly string[],
    readonly classes: number,
    readonly blank: number,
  ) {
    this.symbols = typeof symbols === 'string' ? Array.from(symbols) : [...symbols];
    if (this.symbols.length !== classes - 1) {
      throw new GibbonError('invalid_option', `charset has ${this.symbols.length} characters but the model has ${classes - 1} non-blank classes`, {
        option: 'charset',
      });
    }
    this.symbols.forEach((s, i) => {
      if (this.index.has(s)) throw new GibbonError('invalid_option', `charset lists '${s}' twice`, { option: 'charset' });
      this.index.set(s, i < blank ? i : i + 1);
    });
  }

  /** Class sequence of a text; names the first character the recogniser cannot write. */
  encode(text: string, what = 'text'): number[] {
    return Array.from(text, (ch, i) => {
      const k = this.index.get(ch);
      if (k === undefined)
        throw new GibbonError('invalid_input', `${what} '${text}' has '${ch}' at position ${i}, which is not in the model's charset`, { option: what });
      return k;
    });
  }

  decode(labels: readonly number[]): string {
    return labels.map((k) => this.symbols[k < this.blank ? k : k - 1] ?? '?').join('');
  }
}
