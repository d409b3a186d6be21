/**
 * The random-edit baseline every attack must beat: random allowed edits (character edits,
 * synonyms, word insertion/deletion) on random editable words until the budget is spent, scored
 * `batch` perturbed texts per query batch, up to `trials` texts. Any attack that ranks words or
 * candidates by the model's answers should do better at the same budget; one that does not is
 * not looking at the model.
 *
 * Threat model: untargeted, decision-only use of a score black box. Options (defaults; no paper):
 * `trials` 50, `batch` 10.
 */
import { positiveInteger, resolveOptions } from '../../options.js';
import { CHAR_EDIT_COST, CHAR_EDITS, editWord, type CharEdit } from '../perturbation/char-edits.js';
import type { TextEdit } from '../perturbation/text-budget.js';
import { EditLedger, wordRewrite } from './greedy-word-search.js';
import { type TextAttack, type TextAttackContext, type TextOracle } from './text-attack.js';
import { argmax } from '../../tensor/scores.js';
import { editableWordTypes } from './word-importance.js';

export interface RandomEditOptions {
  readonly trials: number;
  readonly batch: number;
}

export class RandomEditAttack implements TextAttack {
  readonly name = 'random';
  readonly needs = 'scores';
  readonly options: Readonly<RandomEditOptions>;

  constructor(options: Partial<RandomEditOptions> = {}) {
    this.options = resolveOptions('random', { trials: 50, batch: 10 }, options, { trials: positiveInteger, batch: positiveInteger });
  }

  async run(oracle: TextOracle, text: string, label: number, ctx: TextAttackContext): Promise<string | undefined> {
    const allowed: TextEdit[] = [...ctx.perturbation.edits];
    const spans = editableWordTypes(text, ctx).flatMap((t) => t.spans);
    if (allowed.length === 0 || spans.length === 0) return undefined;
    const rng = ctx.rng;
    for (let done = 0; done < this.options.trials;) {
      ctx.signal?.throwIfAborted();
      const n = Math.min(this.options.batch, this.options.trials - done, oracle.remaining);
      if (n <= 0) break;
      const texts: string[] = [];
      for (let t = 0; t < n; t++) {
        const ledger = new EditLedger(ctx.limits);
        const order = rng.permutation(spans.length);
        for (const k of order) {
          const s = spans[k]!;
          const edit = allowed[rng.integer(allowed.length)]!;
          const r = this.rewrite(s.text, edit, text, ctx);
          if (!r) continue;
          const edits = ledger.affordable({ key: s.text, spans: [s] }, () => r);
          if (edits.length === 0) {
            if (ledger.chars >= ctx.limits.charEdits || ledger.words >= ctx.limits.words) break;
            continue;
          }
          ledger.apply(edits);
        }
        texts.push(ledger.textWith(text));
      }
      const logits = await oracle.scores(texts);
      done += n;
      for (let k = 0; k < logits.length; k++) if (argmax(logits[k]!) !== label) return texts[k];
    }
    return undefined;
  }

  private rewrite(word: string, edit: TextEdit, text: string, ctx: TextAttackContext): { by: string; chars: number; words: number } | undefined {
    const rng = ctx.rng;
    const length = Array.from(word).length;
    if ((CHAR_EDITS as readonly string[]).includes(edit)) {
      const by = editWord(word, edit as CharEdit, rng);
      return by === undefined ? undefined : { by, chars: CHAR_EDIT_COST[edit as CharEdit], words: 1 };
    }
    if (edit === 'synonym') {
      const all = ctx.synonyms.synonyms(word);
      if (all.length === 0) return undefined;
      return wordRewrite(word, all[rng.integer(all.length)]!);
    }
    if (edit === 'word-delete') return { by: '', chars: length, words: 1 };
    // word-insert: a word of the text itself, repeated before this one.
    const words = text.match(/\p{L}+/gu) ?? [];
    if (words.length === 0) return undefined;
    const extra = words[rng.integer(words.length)]!;
    return { by: `${extra} ${word}`, chars: Array.from(extra).length + 1, words: 1 };
  }
}
