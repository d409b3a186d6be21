/**
 * Obfuscations of a probe's payload, and how a capable reader undoes them. Probes hide an instruction
 * from filters that match plain text (base64, rot13, leetspeak, look-alike letters from other
 * scripts, zero-width characters, or the instruction split into pieces the model is asked to join);
 * an LLM that can decode them still reads the instruction. `encodePayload` writes them for probes;
 * `readableViews` is what the assistant simulator reads (simulator.ts): the text with look-alikes
 * folded and invisible characters dropped, plus each decoding it finds.
 */
import { Rng } from '../random.js';
import { HOMOGLYPHS, INVISIBLE } from '../text/perturbation/char-edits.js';

export const ENCODINGS = ['none', 'base64', 'rot13', 'leetspeak', 'homoglyph', 'invisible', 'split'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** Letters and the digits leetspeak writes for them. */
export const LEET: Readonly<Record<string, string>> = Object.freeze({ a: '4', e: '3', i: '1', o: '0', s: '5', t: '7' });
const UNLEET: Readonly<Record<string, string>> = Object.freeze({ '4': 'a', '3': 'e', '1': 'i', '0': 'o', '5': 's', '7': 't', '@': 'a', $: 's' });
const UNHOMOGLYPH: ReadonlyMap<string, string> = new Map(Object.entries(HOMOGLYPHS).map(([latin, other]) => [other, latin]));
/** Zero-width and other invisible format characters a reader skips. */
const INVISIBLE_CHARS = /[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]/g;

export function rot13(text: string): string {
  return text.replace(/[a-z]/gi, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

/** Variable names of split payloads. */
const PIECE_NAMES = ['a', 'b', 'c', 'd'];

/** `text` written in `encoding`; `rng` picks the invisible characters and the split points. */
export function encodePayload(text: string, encoding: Encoding, rng: Rng): string {
  switch (encoding) {
    case 'none':
      return text;
    case 'base64':
      return Buffer.from(text, 'utf8').toString('base64');
    case 'rot13':
      return rot13(text);
    case 'leetspeak':
      return text.replace(/[aeiost]/gi, (c) => LEET[c.toLowerCase()] ?? c);
    case 'homoglyph':
      return Array.from(text, (c) => HOMOGLYPHS[c] ?? c).join('');
    case 'invisible':
      return text.replace(/(\p{L})(?=\p{L})/gu, (c) => c + INVISIBLE[rng.integer(INVISIBLE.length)]!);
    case 'split': {
      const pieces = Math.min(PIECE_NAMES.length, Math.max(2, Math.ceil(text.length / 24)));
      const cuts = [0];
      for (let k = 1; k < pieces; k++) {
        const even = Math.round((k * text.length) / pieces);
        cuts.push(Math.min(text.length - 1, Math.max(cuts[k - 1]! + 1, even + rng.integer(5) - 2)));
      }
      cuts.push(text.length);
      const vars = cuts.slice(0, -1).map((c, k) => `${PIECE_NAMES[k]} = ${JSON.stringify(text.slice(c, cuts[k + 1]))}`);
      return `${vars.join('\n')}\nz = ${PIECE_NAMES.slice(0, pieces).join(' + ')}`;
    }
  }
}

/** Look-alike letters folded to Latin, compatibility forms normalised (NFKC), invisible characters dropped. */
export function foldCharacters(text: string): string {
  return Array.from(text.normalize('NFKC').replace(INVISIBLE_CHARS, ''), (c) => UNHOMOGLYPH.get(c) ?? c).join('');
}

/** Words mixing letters with digits or @ $ read as letters (l33t → leet); plain numbers stay. */
export function unleet(text: string): string {
  return text.replace(/[\p{L}0-9@$]+/gu, (w) => (/\p{L}/u.test(w) && /[0-9@$]/.test(w) ? w.replace(/[0-9@$]/g, (c) => UNLEET[c] ?? c) : w));
}

/** Printable ASCII decoding of each base64 run of ≥ 16 characters. */
export function base64Decodings(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/[A-Za-z0-9+/]{16,}={0,2}/g)) {
    const decoded = Buffer.from(m[0], 'base64').toString('utf8');
    const printable = decoded.replace(/[^\x20-\x7e\n\t]/g, '').length;
    if (decoded.length >= 8 && printable / decoded.length > 0.95 && /[a-z]{3}/i.test(decoded)) out.push(decoded);
  }
  return out;
}

/** The joined value of string variables `x = "…"` when the text asks for them joined (`z = a + b`), in the order asked. */
export function joinedPieces(text: string): string | undefined {
  const vars = new Map<string, string>();
  for (const m of text.matchAll(/\b([a-z]\w{0,15})\s*=\s*("(?:[^"\\\n]|\\.)*"|'[^'\n]*')/gi)) {
    const raw = m[2]!;
    let value: string;
    try {
      value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    } catch {
      continue;
    }
    if (vars.size < 16) vars.set(m[1]!, value);
  }
  if (vars.size < 2) return undefined;
  const sum = /\b[a-z]\w{0,15}(?:\s*\+\s*[a-z]\w{0,15})+/gi;
  for (const m of text.matchAll(sum)) {
    const names = m[0].split('+').map((s) => s.trim());
    if (names.every((n) => vars.has(n))) return names.map((n) => vars.get(n)!).join('');
  }
  return /\b(?:concatenate|combine|join)\b/i.test(text) ? [...vars.values()].join('') : undefined;
}

/** What a capable reader makes of an untrusted text, one view per decoding it applied ('plain' first). */
export interface ReadableView {
  readonly via: Encoding | 'plain';
  readonly text: string;
}

/** The readings of `text`: plain (folded, invisible dropped, leetspeak read), each base64 run decoded, rot13 when the text says so, split pieces joined. */
export function readableViews(text: string): ReadableView[] {
  const folded = foldCharacters(text);
  const views: ReadableView[] = [{ via: 'plain', text: unleet(folded) }];
  for (const d of base64Decodings(folded)) views.push({ via: 'base64', text: unleet(foldCharacters(d)) });
  if (/\br\s?o\s?t[\s-]?1\s?3\b|\bcaesar\b/i.test(folded)) views.push({ via: 'rot13', text: rot13(folded) });
  const joined = joinedPieces(folded);
  if (joined !== undefined) views.push({ via: 'split', text: unleet(joined) });
  return views;
}
