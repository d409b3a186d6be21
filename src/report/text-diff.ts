/**
 * What changed between an original text and its adversarial version, for display: both texts as
 * runs of whitespace and words, each word marked kept, changed, removed or inserted after aligning
 * the word sequences (Levenshtein with a backtrace; the common prefix and suffix are kept as they
 * are). Invisible characters are made visible, since an edit that cannot be seen cannot be checked.
 */
import { commonEnds } from '../text/perturbation/edit-distance.js';

export interface DiffPiece {
  readonly text: string;
  /** 'same', or how the word differs. */
  readonly kind: 'same' | 'changed' | 'removed' | 'inserted';
}

const TOKEN = /\s+|\S+/gu;
/** Invisible and zero-width characters, shown as ⟨U+XXXX⟩. */
const INVISIBLE = /[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]/gu;
/** Past this many aligned cells the middle is shown as one changed block. */
const MAX_CELLS = 4_000_000;

export function showInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/** The original's pieces and the adversarial's pieces, aligned by words. */
export function diffWords(original: string, adversarial: string): { readonly before: DiffPiece[]; readonly after: DiffPiece[] } {
  const a = original.match(TOKEN) ?? [];
  const b = adversarial.match(TOKEN) ?? [];
  const { start, endA: ea, endB: eb } = commonEnds(a, b);
  const before: DiffPiece[] = a.slice(0, start).map((text) => ({ text, kind: 'same' }));
  const after: DiffPiece[] = b.slice(0, start).map((text) => ({ text, kind: 'same' }));
  const n = ea - start;
  const m = eb - start;
  if (n * m > MAX_CELLS) {
    before.push({ text: a.slice(start, ea).join(''), kind: 'changed' });
    after.push({ text: b.slice(start, eb).join(''), kind: 'changed' });
  } else {
    const d = Array.from({ length: n + 1 }, (_, i) => new Uint32Array(m + 1).fill(0).map((_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= n; i++)
      for (let j = 1; j <= m; j++)
        d[i]![j] = Math.min(d[i - 1]![j - 1]! + (a[start + i - 1] === b[start + j - 1] ? 0 : 1), d[i - 1]![j]! + 1, d[i]![j - 1]! + 1);
    const midA: DiffPiece[] = [];
    const midB: DiffPiece[] = [];
    let i = n;
    let j = m;
    while (i > 0 || j > 0) {
      const same = i > 0 && j > 0 && a[start + i - 1] === b[start + j - 1];
      if (i > 0 && j > 0 && d[i]![j] === d[i - 1]![j - 1]! + (same ? 0 : 1)) {
        midA.push({ text: a[start + i - 1]!, kind: same ? 'same' : 'changed' });
        midB.push({ text: b[start + j - 1]!, kind: same ? 'same' : 'changed' });
        i--;
        j--;
      } else if (i > 0 && d[i]![j] === d[i - 1]![j]! + 1) {
        midA.push({ text: a[start + --i]!, kind: 'removed' });
      } else {
        midB.push({ text: b[start + --j]!, kind: 'inserted' });
      }
    }
    before.push(...midA.reverse());
    after.push(...midB.reverse());
  }
  before.push(...a.slice(ea).map((text): DiffPiece => ({ text, kind: 'same' })));
  after.push(...b.slice(eb).map((text): DiffPiece => ({ text, kind: 'same' })));
  return { before, after };
}

/** The pieces within `context` words of a change, with '…' for what is left out. */
export function aroundChanges(pieces: readonly DiffPiece[], context: number): DiffPiece[] {
  const keep = new Uint8Array(pieces.length);
  pieces.forEach((p, i) => {
    if (p.kind === 'same') return;
    for (let k = Math.max(0, i - 2 * context); k <= Math.min(pieces.length - 1, i + 2 * context); k++) keep[k] = 1;
  });
  const out: DiffPiece[] = [];
  let gap = false;
  pieces.forEach((p, i) => {
    if (keep[i]) {
      if (gap) out.push({ text: ' … ', kind: 'same' });
      gap = false;
      out.push(p);
    } else gap = true;
  });
  if (gap && out.length > 0) out.push({ text: ' …', kind: 'same' });
  return out;
}
