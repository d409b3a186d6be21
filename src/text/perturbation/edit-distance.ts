/**
 * The one measure of how far an adversarial text is from its original, used by the harness to
 * re-check every accepted adversarial text (attacks report their edits, but the harness believes
 * only this): Levenshtein distance over Unicode code points (a homoglyph or an inserted invisible
 * character costs 1, like any insertion, deletion or substitution; a swap of two neighbours costs 2)
 * and the word-level Levenshtein distance over whitespace-separated units (a unit substituted,
 * inserted or deleted counts 1), relative to the original's number of units.
 */
import { GibbonError } from '../../errors.js';
import { budgetUnits } from './words.js';

export interface EditMeasure {
  /** Levenshtein distance in code points. */
  readonly charEdits: number;
  /** Word-level Levenshtein distance in whitespace-separated units. */
  readonly wordsChanged: number;
  /** wordsChanged / number of units of the original (0 for an empty original). */
  readonly wordFraction: number;
}

/** Past this many cells the distance is not computed exactly (after stripping the common prefix and suffix). */
const MAX_CELLS = 25_000_000;

/** Where two sequences stop agreeing: a[0, start) = b[0, start) and a[endA…] = b[endB…]. */
export function commonEnds<T>(a: readonly T[], b: readonly T[]): { readonly start: number; readonly endA: number; readonly endB: number } {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  return { start, endA, endB };
}

/** Levenshtein distance of two sequences compared with ===, after stripping their common prefix and suffix. */
export function levenshtein<T>(a: readonly T[], b: readonly T[]): number {
  const { start, endA, endB } = commonEnds(a, b);
  const n = endA - start;
  const m = endB - start;
  if (n === 0) return m;
  if (m === 0) return n;
  if (n * m > MAX_CELLS) {
    throw new GibbonError('invalid_input', `texts too different to measure: ${n} × ${m} differing symbols (at most ${MAX_CELLS} cells)`);
  }
  let prev = new Uint32Array(m + 1);
  let cur = new Uint32Array(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    const ai = a[start + i - 1];
    for (let j = 1; j <= m; j++) {
      const sub = prev[j - 1]! + (ai === b[start + j - 1] ? 0 : 1);
      const del = prev[j]! + 1;
      const ins = cur[j - 1]! + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : del < ins ? del : ins;
    }
    [prev, cur] = [cur, prev];
  }
  return prev[m]!;
}

/** How far `adversarial` is from `original`, in character edits and in words changed. */
export function measureEdits(original: string, adversarial: string): EditMeasure {
  const charEdits = levenshtein(Array.from(original), Array.from(adversarial));
  const units = budgetUnits(original);
  const wordsChanged = charEdits === 0 ? 0 : levenshtein(units, budgetUnits(adversarial));
  return { charEdits, wordsChanged, wordFraction: units.length === 0 ? 0 : wordsChanged / units.length };
}
