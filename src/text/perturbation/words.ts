/**
 * How text perturbation sets see a text: words (for substitution attacks: runs of letters, digits
 * and in-word apostrophes/hyphens, with their UTF-16 offsets) and budget units (for the words-changed
 * budget: maximal runs of non-whitespace, so that a character edit inside "free!" changes one unit,
 * and an invisible character inserted into a word does not split it into two).
 */

/** A word of a text and where it is: UTF-16 offsets [start, end). */
export interface WordSpan {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const WORD = /[\p{L}\p{N}](?:[\p{L}\p{M}\p{N}]|['’-](?=[\p{L}\p{N}]))*/gu;
const UNIT = /\S+/gu;

function spans(text: string, pattern: RegExp): WordSpan[] {
  const out: WordSpan[] = [];
  for (const m of text.matchAll(pattern)) out.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  return out;
}

/** The words of `text` that a word-level attack may substitute, in order. */
export function wordSpans(text: string): WordSpan[] {
  return spans(text, WORD);
}

/** The whitespace-separated units the words-changed budget counts. */
export function budgetUnits(text: string): string[] {
  return text.match(UNIT) ?? [];
}

/** `text` with `[start, end)` replaced by `by`. */
export function replaceRange(text: string, start: number, end: number, by: string): string {
  return text.slice(0, start) + by + text.slice(end);
}

/** `text` with several non-overlapping replacements applied (any order given). */
export function applyReplacements(text: string, edits: readonly { readonly start: number; readonly end: number; readonly by: string }[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of sorted) out = replaceRange(out, e.start, e.end, e.by);
  return out;
}

/** `replacement` cased like `original` (all caps, capitalised, or as given). */
export function matchCase(original: string, replacement: string): string {
  if (original.length > 1 && original === original.toUpperCase() && original !== original.toLowerCase()) return replacement.toUpperCase();
  const first = original[0]!;
  if (first !== first.toLowerCase() && first === first.toUpperCase()) return replacement[0]!.toUpperCase() + replacement.slice(1);
  return replacement;
}
