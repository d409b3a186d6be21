/**
 * The search DeepWordBug, TextBugger, TextFooler and PWWS share once their words are ranked: take
 * the words in order; for each, score every candidate rewrite of the word (one batch of queries on
 * the current text) and keep the one that lowers the true class's probability most; stop when the
 * decision flips or the budget is spent. A rewrite changes all occurrences of the word type when the
 * budget allows (the same word gets the same rewrite), otherwise as many as fit, first ones first.
 */
import type { TextLimits } from '../perturbation/text-budget.js';
import { applyReplacements } from '../perturbation/words.js';
import { probabilityOf, type TextAttackContext, type TextOracle } from './text-attack.js';
import { argmax } from '../../tensor/scores.js';
import { rankByDeletion, type WordType } from './word-importance.js';

/** A rewrite of one occurrence and what it costs (upper bounds of its code-point and word distance). */
export interface WordRewrite {
  readonly by: string;
  readonly chars: number;
  readonly words: number;
}

/** Rewrites of one occurrence's text (the same function is applied to every occurrence). */
export type RewriteMaker = (word: string) => readonly WordRewrite[];

/** Edits made so far: replacement per occurrence (keyed by its start offset), and their cost. */
export class EditLedger {
  readonly replaced = new Map<number, { readonly end: number; readonly by: string }>();
  chars = 0;
  words = 0;

  constructor(readonly limits: TextLimits) {}

  textWith(original: string, extra: readonly { start: number; end: number; by: string }[] = []): string {
    const edits = [...this.replaced].map(([start, r]) => ({ start, end: r.end, by: r.by }));
    return applyReplacements(original, [...edits, ...extra]);
  }

  /** The occurrences of `type` this rewrite can afford, as edits (empty when none). */
  affordable(type: WordType, make: (word: string) => WordRewrite | undefined): { start: number; end: number; by: string; chars: number; words: number }[] {
    const out: { start: number; end: number; by: string; chars: number; words: number }[] = [];
    let chars = this.chars;
    let words = this.words;
    for (const s of type.spans) {
      if (this.replaced.has(s.start)) continue;
      const r = make(s.text);
      if (!r || chars + r.chars > this.limits.charEdits || words + r.words > this.limits.words) continue;
      chars += r.chars;
      words += r.words;
      out.push({ start: s.start, end: s.end, by: r.by, chars: r.chars, words: r.words });
    }
    return out;
  }

  apply(edits: readonly { start: number; end: number; by: string; chars: number; words: number }[]): void {
    for (const e of edits) {
      this.replaced.set(e.start, { end: e.end, by: e.by });
      this.chars += e.chars;
      this.words += e.words;
    }
  }
}

export interface GreedyOptions {
  /** Stop after this many word types were tried (the ranking's tail rarely helps). */
  readonly maxWordsTried: number;
}

/**
 * Greedy search over ranked word types; returns the first text whose decision is not `label`, or
 * undefined. `baseProbability` is the true class's probability on the unmodified text.
 */
export async function greedyWordSearch(
  oracle: TextOracle,
  text: string,
  label: number,
  ranked: readonly WordType[],
  rewrites: RewriteMaker,
  ledger: EditLedger,
  baseProbability: number,
  options: GreedyOptions,
  signal?: AbortSignal,
): Promise<string | undefined> {
  let current = baseProbability;
  let tried = 0;
  for (const type of ranked) {
    if (tried++ >= options.maxWordsTried) break;
    signal?.throwIfAborted();
    const first = type.spans[0]!.text;
    const options_ = rewrites(first);
    const candidates = options_
      .map((r, k) => ledger.affordable(type, (w) => (w === first ? r : rewrites(w)[k])))
      .filter((edits) => edits.length > 0)
      .slice(0, Math.max(0, oracle.remaining));
    if (candidates.length === 0) continue;
    const texts = candidates.map((edits) => ledger.textWith(text, edits));
    const logits = await oracle.scores(texts);
    let best = -1;
    let bestP = current;
    for (let k = 0; k < logits.length; k++) {
      if (argmax(logits[k]!) !== label) {
        ledger.apply(candidates[k]!);
        return texts[k];
      }
      const p = probabilityOf(logits[k]!, label);
      if (p < bestP) {
        bestP = p;
        best = k;
      }
    }
    if (best >= 0) {
      ledger.apply(candidates[best]!);
      current = bestP;
    }
  }
  return undefined;
}

/** Replacing `word` by `by` (a synonym): at most the longer one's length in code-point edits, one word. */
export function wordRewrite(word: string, by: string): WordRewrite {
  return { by, chars: Math.max(Array.from(word).length, Array.from(by).length), words: 1 };
}

/** Ranks `types` by deletion importance (`rankQueries` queries at most), then runs the greedy search on them. */
export async function rankedGreedySearch(
  oracle: TextOracle,
  text: string,
  label: number,
  ctx: TextAttackContext,
  types: readonly WordType[],
  rewrites: RewriteMaker,
  options: GreedyOptions & { readonly rankQueries: number },
): Promise<string | undefined> {
  const [base] = await oracle.scores([text]);
  const p0 = probabilityOf(base!, label);
  const ranked = await rankByDeletion(oracle, text, label, types, p0, options.rankQueries);
  const order = ranked.map((r) => r.type);
  return greedyWordSearch(oracle, text, label, order, rewrites, new EditLedger(ctx.limits), p0, options, ctx.signal);
}
