/**
 * HotFlip: white-box flips ranked by the first-order change of the loss, read from the gradient
 * with respect to the embeddings.
 *
 * Paper: J. Ebrahimi, A. Rao, D. Lowd, D. Dou, "HotFlip: White-Box Adversarial Examples for Text
 * Classification", ACL 2018, arXiv:1712.06751.
 * Threat model: untargeted, white box (WhiteBoxTextClassifier: tokens, embedding table, token
 * gradients); char-edit and/or words-changed budget from the threat model.
 *
 * A flip of token i to vocabulary row j gains (e_j − e_i) · ∂L/∂e_i (the paper's equation 3, for
 * embedding rows instead of one-hot characters). Which flips exist depends on the model's unit:
 * - 'char' models: substitute the character by any character of the vocabulary (1 edit);
 * - 'word' models: the paper's character flips seen through a word vocabulary — every word one
 *   allowed character edit away (swap, substitute, delete, insert a–z) becomes the vocabulary word
 *   it spells, or the unknown token; with 'synonym' allowed, the word's synonyms too.
 * Each step takes one gradient (one query), scores the `candidatesPerStep` best flips by gain (a
 * beam of one, as the paper's greedy variant) and keeps the one that lowers the true class most,
 * until the decision flips or the budget is spent. Options (defaults; gibbon's): `candidatesPerStep`
 * 10, `maxSteps` 50.
 *
 * @example new HotFlipAttack({}).run(oracle, text, 1, ctx)
 */
import { positiveInteger, resolveOptions } from '../../options.js';
import { CHAR_EDIT_COST, type CharEdit } from '../perturbation/char-edits.js';
import { measureEdits } from '../perturbation/edit-distance.js';
import { overlapsProtected } from '../perturbation/protected-spans.js';
import { isStopword } from '../perturbation/stopwords.js';
import { replaceRange } from '../perturbation/words.js';
import type { EmbeddingTable } from '../classifier.js';
import { probabilityOf, type TextAttack, type TextAttackContext, type TextOracle } from './text-attack.js';
import { argmax } from '../../tensor/scores.js';

export interface HotFlipOptions {
  readonly candidatesPerStep: number;
  readonly maxSteps: number;
}

interface Variant {
  readonly by: string;
  readonly row: number;
  readonly chars: number;
}

interface Flip {
  readonly start: number;
  readonly end: number;
  readonly by: string;
  readonly gain: number;
  readonly chars: number;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Words one character edit away from `word`, with the edit that makes each. */
function oneEditAway(word: string, allowed: ReadonlySet<string>): Map<string, CharEdit> {
  const out = new Map<string, CharEdit>();
  const cp = Array.from(word);
  const add = (w: string[], e: CharEdit): void => {
    const s = w.join('');
    if (s !== word && s.length > 0 && !out.has(s)) out.set(s, e);
  };
  for (let i = 0; i < cp.length; i++) {
    if (allowed.has('delete') && cp.length > 1) add([...cp.slice(0, i), ...cp.slice(i + 1)], 'delete');
    if (allowed.has('swap') && i + 1 < cp.length) add([...cp.slice(0, i), cp[i + 1]!, cp[i]!, ...cp.slice(i + 2)], 'swap');
    if (allowed.has('substitute')) for (const c of LETTERS) add([...cp.slice(0, i), c, ...cp.slice(i + 1)], 'substitute');
  }
  if (allowed.has('insert')) for (let i = 0; i <= cp.length; i++) for (const c of LETTERS) add([...cp.slice(0, i), c, ...cp.slice(i)], 'insert');
  return out;
}

function dot(values: Float32Array, row: number, gradient: Float32Array, at: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += values[row * dim + d]! * gradient[at * dim + d]!;
  return s;
}

export class HotFlipAttack implements TextAttack {
  readonly name = 'hotflip';
  readonly needs = 'white-box';
  readonly options: Readonly<HotFlipOptions>;

  constructor(options: Partial<HotFlipOptions> = {}) {
    this.options = resolveOptions('hotflip', { candidatesPerStep: 10, maxSteps: 50 }, options, {
      candidatesPerStep: positiveInteger,
      maxSteps: positiveInteger,
    });
  }

  async run(oracle: TextOracle, text: string, label: number, ctx: TextAttackContext): Promise<string | undefined> {
    const model = oracle.whiteBox(this.name);
    const table = model.embedding;
    const lookup = new Map<string, number>();
    table.tokens.forEach((t, id) => t !== undefined && !lookup.has(t) && lookup.set(t, id));
    const unknownId = model.tokenize('qxzjqvkzxq')[0]?.id;
    let current = text;
    let spent = { chars: 0, words: 0 };
    const touched: { start: number; end: number }[] = [];
    const cache = new Map<string, readonly Variant[]>();
    for (let step = 0; step < this.options.maxSteps; step++) {
      ctx.signal?.throwIfAborted();
      const [g] = await model.tokenGradients([current], [label]);
      const flips = this.flips(current, g!, table, lookup, unknownId, ctx, spent, touched, cache);
      if (flips.length === 0) return undefined;
      const chosen = flips.slice(0, Math.min(this.options.candidatesPerStep, oracle.remaining));
      const texts = chosen.map((f) => replaceRange(current, f.start, f.end, f.by));
      const logits = await oracle.scores(texts);
      let best = -1;
      let bestP = probabilityOf(g!.logits, label);
      for (let k = 0; k < logits.length; k++) {
        const m = measureEdits(text, texts[k]!);
        if (m.charEdits > ctx.limits.charEdits || m.wordsChanged > ctx.limits.words) continue;
        if (argmax(logits[k]!) !== label) return texts[k];
        const p = probabilityOf(logits[k]!, label);
        if (p < bestP) [best, bestP] = [k, p];
      }
      // No flip lowers the loss: take the best-gain one anyway (the gradient is only first order).
      if (best < 0) best = 0;
      const f = chosen[best]!;
      const shift = f.by.length - (f.end - f.start);
      for (const t of touched) if (t.start >= f.end) [t.start, t.end] = [t.start + shift, t.end + shift];
      touched.push({ start: f.start, end: f.start + f.by.length });
      current = texts[best]!;
      const m = measureEdits(text, current);
      spent = { chars: m.charEdits, words: m.wordsChanged };
    }
    return undefined;
  }

  /** The rows a word can become (computed once per word and run): vocabulary words one edit away, one unknown, synonyms. */
  private variants(
    surface: string,
    cache: Map<string, readonly Variant[]>,
    lookup: ReadonlyMap<string, number>,
    unknownId: number | undefined,
    ctx: TextAttackContext,
  ): readonly Variant[] {
    const hit = cache.get(surface);
    if (hit) return hit;
    const out: Variant[] = [];
    const known = lookup.has(surface.toLowerCase());
    let unknown: Variant | undefined;
    for (const [w, edit] of oneEditAway(surface, ctx.perturbation.edits)) {
      const row = lookup.get(w) ?? lookup.get(w.toLowerCase());
      const chars = CHAR_EDIT_COST[edit];
      if (row !== undefined) out.push({ by: w, row, chars });
      else if (known && unknownId !== undefined && (!unknown || chars < unknown.chars)) unknown = { by: w, row: unknownId, chars };
    }
    if (unknown) out.push(unknown);
    if (ctx.perturbation.edits.has('synonym')) {
      for (const syn of ctx.synonyms.synonyms(surface)) {
        const row = lookup.get(syn.toLowerCase()) ?? unknownId;
        if (row !== undefined) out.push({ by: syn, row, chars: Math.max(surface.length, syn.length) });
      }
    }
    cache.set(surface, out);
    return out;
  }

  private flips(
    text: string,
    g: { readonly tokens: readonly { id: number; start: number; end: number }[]; readonly gradient: Float32Array },
    table: EmbeddingTable,
    lookup: ReadonlyMap<string, number>,
    unknownId: number | undefined,
    ctx: TextAttackContext,
    spent: { chars: number; words: number },
    touched: readonly { start: number; end: number }[],
    cache: Map<string, readonly Variant[]>,
  ): Flip[] {
    const allowed = ctx.perturbation.edits;
    const dim = table.dim;
    const out: Flip[] = [];
    const seen = new Set<string>();
    if (spent.words + 1 > ctx.limits.words) return out;
    g.tokens.forEach((tok, i) => {
      if (tok.start === tok.end || overlapsProtected(ctx.spans, tok.start, tok.end)) return;
      if (touched.some((t) => tok.start < t.end && tok.end > t.start)) return;
      const surface = text.slice(tok.start, tok.end);
      if (table.unit === 'word' && isStopword(surface, ctx.perturbation.stopwords)) return;
      const base = dot(table.values, tok.id, g.gradient, i, dim);
      const consider = (by: string, row: number | undefined, chars: number): void => {
        if (row === undefined || spent.chars + chars > ctx.limits.charEdits) return;
        const key = row === unknownId ? `${tok.start}:unknown` : `${tok.start}:${by}`;
        if (seen.has(key)) return;
        seen.add(key);
        out.push({ start: tok.start, end: tok.end, by, chars, gain: dot(table.values, row, g.gradient, i, dim) - base });
      };
      if (table.unit === 'char') {
        if (!allowed.has('substitute')) return;
        table.tokens.forEach((t, row) => t !== undefined && Array.from(t).length === 1 && t !== surface && /\S/u.test(t) && consider(t, row, 1));
        return;
      }
      for (const c of this.variants(surface, cache, lookup, unknownId, ctx)) consider(c.by, c.row, c.chars);
    });
    return out.sort((a, b) => b.gain - a.gain);
  }
}
