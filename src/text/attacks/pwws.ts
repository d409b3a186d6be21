/**
 * PWWS: probability weighted word saliency — synonym substitution ordered by how much the best
 * synonym of a word lowers the true class, weighted by the word's saliency.
 *
 * Paper: S. Ren, Y. Deng, K. He, W. Che, "Generating Natural Language Adversarial Examples through
 * Probability Weighted Word Saliency", ACL 2019, aclanthology.org/P19-1103.
 * Threat model: untargeted, score-based black box; words-changed budget from the threat model.
 *
 * As in the paper: synonyms from WordNet (synonyms.ts), saliency S(x, w) = P(y|x) − P(y|x without w)
 * (deletion stands in for the paper's unknown token, which a black box may not have), ΔP* of the
 * best synonym, the score H = softmax(S) · ΔP*, then words replaced in descending H until the
 * decision flips. For query efficiency (the paper scores every synonym of every word), only the
 * `candidateWords` most salient word types have their synonyms scored, at most `maxSynonyms` each,
 * and the saliency ranking of long texts is two-level (word-importance.ts, `rankQueries`).
 * Defaults: `candidateWords` 12, `maxSynonyms` 12, `rankQueries` 48 (gibbon's, for ≤ ~200 queries).
 *
 * @example new PwwsAttack({}).run(oracle, text, 1, ctx)
 */
import { positiveInteger, resolveOptions } from '../../options.js';
import { EditLedger, wordRewrite } from './greedy-word-search.js';
import { probabilityOf, type TextAttack, type TextAttackContext, type TextOracle } from './text-attack.js';
import { argmax } from '../../tensor/scores.js';
import { editableWordTypes, rankByDeletion, type WordType } from './word-importance.js';

export interface PwwsOptions {
  readonly candidateWords: number;
  readonly maxSynonyms: number;
  readonly rankQueries: number;
}

type Edit = { start: number; end: number; by: string; chars: number; words: number };

export class PwwsAttack implements TextAttack {
  readonly name = 'pwws';
  readonly needs = 'scores';
  readonly options: Readonly<PwwsOptions>;

  constructor(options: Partial<PwwsOptions> = {}) {
    this.options = resolveOptions('pwws', { candidateWords: 12, maxSynonyms: 12, rankQueries: 48 }, options, {
      candidateWords: positiveInteger,
      maxSynonyms: positiveInteger,
      rankQueries: positiveInteger,
    });
  }

  async run(oracle: TextOracle, text: string, label: number, ctx: TextAttackContext): Promise<string | undefined> {
    if (!ctx.perturbation.edits.has('synonym')) return undefined;
    const [base] = await oracle.scores([text]);
    const p0 = probabilityOf(base!, label);
    const types = editableWordTypes(text, ctx).filter((t) => ctx.synonyms.synonyms(t.key).length > 0);
    const ranked = (await rankByDeletion(oracle, text, label, types, p0, this.options.rankQueries)).slice(0, this.options.candidateWords);
    const ledger = new EditLedger(ctx.limits);
    const scored: { type: WordType; saliency: number; delta: number; edits: Edit[] }[] = [];
    for (const { type, importance } of ranked) {
      ctx.signal?.throwIfAborted();
      const synonyms = ctx.synonyms.synonyms(type.spans[0]!.text).slice(0, this.options.maxSynonyms);
      const candidates = synonyms
        .map((_, k) =>
          ledger.affordable(type, (w) => {
            const by = ctx.synonyms.synonyms(w)[k];
            return by === undefined ? undefined : wordRewrite(w, by);
          }),
        )
        .filter((e) => e.length > 0)
        .slice(0, Math.max(0, oracle.remaining));
      if (candidates.length === 0) continue;
      const texts = candidates.map((e) => ledger.textWith(text, e));
      const logits = await oracle.scores(texts);
      let best = 0;
      let bestP = Infinity;
      for (let k = 0; k < logits.length; k++) {
        if (argmax(logits[k]!) !== label) return texts[k];
        const p = probabilityOf(logits[k]!, label);
        if (p < bestP) [best, bestP] = [k, p];
      }
      scored.push({ type, saliency: importance, delta: p0 - bestP, edits: candidates[best]! });
    }
    // H(x, w) = softmax(S(x))_w · ΔP*_w (Ren et al. 2019, equation 8).
    const maxS = Math.max(...scored.map((s) => s.saliency));
    const z = scored.reduce((sum, s) => sum + Math.exp(s.saliency - maxS), 0);
    const order = scored.map((s) => ({ ...s, h: (Math.exp(s.saliency - maxS) / z) * s.delta })).sort((a, b) => b.h - a.h);
    for (const s of order) {
      ctx.signal?.throwIfAborted();
      const edits = ledger.affordable(s.type, (w) => {
        const e = s.edits.find((x) => text.slice(x.start, x.end) === w);
        return e && { by: e.by, chars: e.chars, words: e.words };
      });
      if (edits.length === 0) continue;
      ledger.apply(edits);
      const candidate = ledger.textWith(text);
      const [logits] = await oracle.scores([candidate]);
      if (argmax(logits!) !== label) return candidate;
    }
    return undefined;
  }
}
