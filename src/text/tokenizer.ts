/**
 * How gibbon's text models split a text into tokens, with UTF-16 offsets into the original text.
 *
 * - `word`: after lower-casing (when the vocabulary says so), a token is a run of letters and
 *   digits, optionally joined by apostrophes (`don't`, `o'neil`), or any single other visible
 *   character (punctuation, symbols: `$`, `!`, `@`). Whitespace and invisible format characters
 *   (zero-width space, joiners, Unicode category Cf) separate tokens and are never tokens.
 * - `char`: every code point except whitespace is a token (`a`, `$`, `é`); whitespace between
 *   words is one token ' ' (a run of spaces or line breaks counts once), so the model sees word
 *   boundaries.
 *
 * Lower-casing is per character and keeps offsets exact (a character whose lower case has a
 * different length, e.g. 'İ', is kept as it is).
 */
import type { TextToken } from './classifier.js';

export type TokenUnit = 'word' | 'char';

/** A token's surface form and where it is in the text. */
export interface SurfaceToken {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const WORD = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*|[^\s\p{L}\p{N}\p{M}\p{Cf}]/gu;
const CHAR = /\s+|[^\s\p{Cf}]/gu;

function lower(s: string): string {
  const l = s.toLowerCase();
  if (l.length === s.length) return l;
  let out = '';
  for (const ch of s) {
    const c = ch.toLowerCase();
    out += c.length === ch.length ? c : ch;
  }
  return out;
}

/** The tokens of a text in order, at most `limit` of them (default: all). */
export function splitTokens(text: string, unit: TokenUnit, lowercase: boolean, limit = Infinity): SurfaceToken[] {
  const source = lowercase ? lower(text) : text;
  const re = new RegExp(unit === 'word' ? WORD : CHAR);
  const out: SurfaceToken[] = [];
  for (let m = re.exec(source); m !== null && out.length < limit; m = re.exec(source)) {
    const surface = unit === 'char' && /^\s/.test(m[0]) ? ' ' : m[0];
    // A leading whitespace token in char mode carries no information.
    if (unit === 'char' && surface === ' ' && (out.length === 0 || m.index + m[0].length === source.length)) continue;
    out.push({ text: surface, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** Token ids looked up in a vocabulary map, unknown surfaces mapped to `unknownId`. */
export function toTextTokens(tokens: readonly SurfaceToken[], ids: ReadonlyMap<string, number>, unknownId: number): TextToken[] {
  return tokens.map((t) => ({ id: ids.get(t.text) ?? unknownId, start: t.start, end: t.end }));
}
