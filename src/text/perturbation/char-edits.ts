/**
 * Character edits of one word, as DeepWordBug and TextBugger make them: swap two neighbouring
 * letters, substitute a letter (by a keyboard neighbour, or a random letter), delete one, insert
 * one, replace a letter by a look-alike from another script (homoglyph), or insert an invisible
 * character. Each function returns the edited word, or undefined where the edit does not apply.
 * Every edit here costs 1 code-point edit, except a swap (2).
 */
import type { Rng } from '../../random.js';

export const CHAR_EDITS = ['swap', 'substitute', 'delete', 'insert', 'homoglyph', 'invisible'] as const;
export type CharEdit = (typeof CHAR_EDITS)[number];

/** Cost of each edit in code-point Levenshtein distance (edit-distance.ts). */
export const CHAR_EDIT_COST: Readonly<Record<CharEdit, number>> = Object.freeze({ swap: 2, substitute: 1, delete: 1, insert: 1, homoglyph: 1, invisible: 1 });

/** Latin letters and a Cyrillic or Greek letter drawn alike in most fonts. */
export const HOMOGLYPHS: Readonly<Record<string, string>> = Object.freeze({
  a: 'а',
  c: 'с',
  e: 'е',
  i: 'і',
  j: 'ј',
  o: 'о',
  p: 'р',
  s: 'ѕ',
  x: 'х',
  y: 'у',
  A: 'А',
  B: 'В',
  C: 'С',
  E: 'Е',
  H: 'Н',
  I: 'І',
  K: 'К',
  M: 'М',
  O: 'О',
  P: 'Р',
  T: 'Т',
  X: 'Х',
  Y: 'У',
});

/** Zero-width space, zero-width non-joiner, zero-width joiner, word joiner. */
export const INVISIBLE = ['\u200b', '\u200c', '\u200d', '\u2060'] as const;

const KEYBOARD_ROWS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

function keyboardNeighbours(c: string): string {
  const lower = c.toLowerCase();
  for (let r = 0; r < KEYBOARD_ROWS.length; r++) {
    const i = KEYBOARD_ROWS[r]!.indexOf(lower);
    if (i < 0) continue;
    let out = (KEYBOARD_ROWS[r]![i - 1] ?? '') + (KEYBOARD_ROWS[r]![i + 1] ?? '');
    out += (KEYBOARD_ROWS[r - 1]?.[i] ?? '') + (KEYBOARD_ROWS[r + 1]?.[i] ?? '');
    return c === lower ? out : out.toUpperCase();
  }
  return '';
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** A position inside the word (not the first or last letter where the word is long enough: they carry most of its legibility). */
function innerIndex(length: number, rng: Rng, edge = 0): number {
  if (length <= 3) return rng.integer(length - edge);
  return 1 + rng.integer(length - 2 - edge);
}

/** One edit of `word` (code points), or undefined where it cannot be made (e.g. a homoglyph for a word with none). */
export function editWord(word: string, edit: CharEdit, rng: Rng): string | undefined {
  const cp = Array.from(word);
  const n = cp.length;
  if (n === 0) return undefined;
  switch (edit) {
    case 'swap': {
      if (n < 2) return undefined;
      const i = n <= 3 ? rng.integer(n - 1) : 1 + rng.integer(n - 3);
      if (cp[i] === cp[i + 1]) return undefined;
      [cp[i], cp[i + 1]] = [cp[i + 1]!, cp[i]!];
      return cp.join('');
    }
    case 'substitute': {
      const i = innerIndex(n, rng);
      const near = keyboardNeighbours(cp[i]!);
      const pool = near.length > 0 ? near : LETTERS;
      cp[i] = pool[rng.integer(pool.length)]!;
      return cp.join('');
    }
    case 'delete': {
      if (n < 2) return undefined;
      cp.splice(innerIndex(n, rng), 1);
      return cp.join('');
    }
    case 'insert': {
      const i = 1 + rng.integer(Math.max(1, n - 1));
      cp.splice(i, 0, LETTERS[rng.integer(LETTERS.length)]!);
      return cp.join('');
    }
    case 'homoglyph': {
      const at = cp.map((c, i) => (HOMOGLYPHS[c] ? i : -1)).filter((i) => i >= 0);
      if (at.length === 0) return undefined;
      const i = at[rng.integer(at.length)]!;
      cp[i] = HOMOGLYPHS[cp[i]!]!;
      return cp.join('');
    }
    case 'invisible': {
      if (n < 2) return undefined;
      cp.splice(1 + rng.integer(n - 1), 0, INVISIBLE[rng.integer(INVISIBLE.length)]!);
      return cp.join('');
    }
  }
}
