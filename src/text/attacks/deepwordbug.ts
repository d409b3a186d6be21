/**
 * DeepWordBug: black-box character edits on the most important words.
 *
 * Paper: J. Gao, J. Lanchantin, M. L. Soffa, Y. Qi, "Black-box Generation of Adversarial Text
 * Sequences to Evade Deep Learning Classifiers", IEEE S&P Workshops 2018, arXiv:1801.04354.
 * Threat model: untargeted, score-based black box; edit budget in code-point edits (the paper's
 * "power", Levenshtein distance) and/or words changed, from the threat model.
 *
 * Scoring: the paper's Replace-1 score (the true class's probability drop when a word is removed),
 * per word type (word-importance.ts). Transformer: the paper's four edits — swap two neighbouring
 * letters, substitute a letter (a keyboard neighbour), delete one, insert one — restricted to those
 * the threat model allows, plus homoglyphs and invisible characters where it allows those (not in
 * the paper); unlike the paper's one random transformer for the whole run, each allowed edit is
 * tried on a word (one query each, batched) and the best kept, as TextAttack does.
 *
 * Options (defaults): `maxWordsTried` 50 (words taken from the ranking before giving up; the paper
 * edits words until its power is spent), `rankQueries` 64 (queries for the ranking; see word-importance.ts).
 *
 * @example new DeepWordBugAttack({}).run(oracle, text, 1, ctx)
 */
import { positiveInteger, resolveOptions } from '../../options.js';
import { CHAR_EDIT_COST, editWord, type CharEdit } from '../perturbation/char-edits.js';
import { rankedGreedySearch, type WordRewrite } from './greedy-word-search.js';
import type { TextAttack, TextAttackContext, TextOracle } from './text-attack.js';
import { editableWordTypes } from './word-importance.js';

export interface DeepWordBugOptions {
  readonly maxWordsTried: number;
  readonly rankQueries: number;
}

/** Gao et al. 2018, section 3.3: swap, substitution, deletion, insertion; then gibbon's two. */
const EDITS: readonly CharEdit[] = ['swap', 'substitute', 'delete', 'insert', 'homoglyph', 'invisible'];

export class DeepWordBugAttack implements TextAttack {
  readonly name = 'deepwordbug';
  readonly needs = 'scores';
  readonly options: Readonly<DeepWordBugOptions>;

  constructor(options: Partial<DeepWordBugOptions> = {}) {
    this.options = resolveOptions('deepwordbug', { maxWordsTried: 50, rankQueries: 64 }, options, {
      maxWordsTried: positiveInteger,
      rankQueries: positiveInteger,
    });
  }

  async run(oracle: TextOracle, text: string, label: number, ctx: TextAttackContext): Promise<string | undefined> {
    const edits = EDITS.filter((e) => ctx.perturbation.edits.has(e));
    if (edits.length === 0) return undefined;
    const rng = ctx.rng;
    const rewrites = (word: string): WordRewrite[] =>
      edits.flatMap((e) => {
        const by = editWord(word, e, rng);
        return by === undefined ? [] : [{ by, chars: CHAR_EDIT_COST[e], words: 1 }];
      });
    return rankedGreedySearch(oracle, text, label, ctx, editableWordTypes(text, ctx, 2), rewrites, this.options);
  }
}
