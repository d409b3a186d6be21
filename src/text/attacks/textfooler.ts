/**
 * TextFooler-style greedy synonym substitution ranked by word importance.
 *
 * Paper: D. Jin, Z. Jin, J. T. Zhou, P. Szolovits, "Is BERT Really Robust? A Strong Baseline for
 * Natural Language Attack on Text Classification and Entailment", AAAI 2020, arXiv:1907.11932.
 * Threat model: untargeted, score-based black box; words-changed budget from the threat model.
 *
 * Differences from the paper, said plainly: synonyms come from WordNet (synonyms.ts: same dominant
 * part of speech, single words) instead of counter-fitted word embeddings with cosine ≥ 0.5, and
 * there is no Universal Sentence Encoder similarity check (none ships offline in npm) — the
 * threat model's word budget and stopwords are the only constraints. Importance is the deletion
 * score (the paper's equation 2, its first case). Options (defaults): `maxSynonyms` 50 (the paper's
 * N = 50 candidates), `maxWordsTried` 50, `rankQueries` 64.
 *
 * @example new TextFoolerAttack({}).run(oracle, text, 1, ctx)
 */
import { positiveInteger, resolveOptions } from '../../options.js';
import { rankedGreedySearch, wordRewrite, type WordRewrite } from './greedy-word-search.js';
import type { TextAttack, TextAttackContext, TextOracle } from './text-attack.js';
import { editableWordTypes } from './word-importance.js';

export interface TextFoolerOptions {
  readonly maxSynonyms: number;
  readonly maxWordsTried: number;
  readonly rankQueries: number;
}

export class TextFoolerAttack implements TextAttack {
  readonly name = 'textfooler';
  readonly needs = 'scores';
  readonly options: Readonly<TextFoolerOptions>;

  constructor(options: Partial<TextFoolerOptions> = {}) {
    // Jin et al. 2020, section 3.2: N = 50 synonym candidates.
    this.options = resolveOptions('textfooler', { maxSynonyms: 50, maxWordsTried: 50, rankQueries: 64 }, options, {
      maxSynonyms: positiveInteger,
      maxWordsTried: positiveInteger,
      rankQueries: positiveInteger,
    });
  }

  async run(oracle: TextOracle, text: string, label: number, ctx: TextAttackContext): Promise<string | undefined> {
    if (!ctx.perturbation.edits.has('synonym')) return undefined;
    const types = editableWordTypes(text, ctx).filter((t) => ctx.synonyms.synonyms(t.key).length > 0);
    const rewrites = (word: string): WordRewrite[] =>
      ctx.synonyms
        .synonyms(word)
        .slice(0, this.options.maxSynonyms)
        .map((by) => wordRewrite(word, by));
    return rankedGreedySearch(oracle, text, label, ctx, types, rewrites, this.options);
  }
}
