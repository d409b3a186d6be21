/**
 * TextBugger (black-box): the bug — a character edit or a synonym — that lowers the true class most,
 * on the most important words first.
 *
 * Paper: J. Li, S. Ji, T. Du, B. Li, T. Wang, "TextBugger: Generating Adversarial Text Against
 * Real-world Applications", NDSS 2019, arXiv:1812.05271.
 * Threat model: untargeted, score-based black box; char-edit and/or words-changed budget.
 *
 * Bugs (paper section III-B), each only where the threat model allows its edit kind: Insert a space
 * inside the word ('insert'), Delete a middle letter ('delete'), Swap two middle letters ('swap'),
 * Sub-C: a visually similar character (o→0, l→1, a→@ …; 'substitute', or a homoglyph when
 * 'homoglyph' is allowed), Sub-W: one of the word's `synonymsPerWord` nearest words (paper: top 5 in
 * GloVe; here WordNet synonyms, 'synonym'). Word importance: deletion score (the paper's black-box
 * step 2; a single text is one sentence here, so the sentence ranking of step 1 is skipped).
 * Options (defaults): `synonymsPerWord` 5 (paper), `maxWordsTried` 50, `rankQueries` 64.
 *
 * @example new TextBuggerAttack({}).run(oracle, text, 1, ctx)
 */
import { positiveInteger, resolveOptions } from '../../options.js';
import { editWord } from '../perturbation/char-edits.js';
import { rankedGreedySearch, wordRewrite, type WordRewrite } from './greedy-word-search.js';
import type { TextAttack, TextAttackContext, TextOracle } from './text-attack.js';
import { editableWordTypes } from './word-importance.js';

export interface TextBuggerOptions {
  readonly synonymsPerWord: number;
  readonly maxWordsTried: number;
  readonly rankQueries: number;
}

/** Visually similar characters (the paper's Sub-C examples and their like). */
const VISUAL: Readonly<Record<string, string>> = Object.freeze({
  o: '0',
  O: '0',
  l: '1',
  I: '1',
  i: '1',
  a: '@',
  s: '$',
  S: '$',
  e: '3',
  E: '3',
  g: '9',
  t: '7',
});

function subC(word: string): string | undefined {
  const cp = Array.from(word);
  const i = cp.findIndex((c, k) => k > 0 && VISUAL[c] !== undefined);
  const at = i >= 0 ? i : cp.findIndex((c) => VISUAL[c] !== undefined);
  if (at < 0) return undefined;
  cp[at] = VISUAL[cp[at]!]!;
  return cp.join('');
}

function middle(word: string, op: 'space' | 'delete' | 'swap'): string | undefined {
  const cp = Array.from(word);
  if (cp.length < (op === 'swap' ? 4 : 2)) return undefined;
  const m = Math.floor(cp.length / 2);
  if (op === 'space') cp.splice(m, 0, ' ');
  else if (op === 'delete') cp.splice(m, 1);
  else {
    if (cp[m - 1] === cp[m]) return undefined;
    [cp[m - 1], cp[m]] = [cp[m]!, cp[m - 1]!];
  }
  return cp.join('');
}

export class TextBuggerAttack implements TextAttack {
  readonly name = 'textbugger';
  readonly needs = 'scores';
  readonly options: Readonly<TextBuggerOptions>;

  constructor(options: Partial<TextBuggerOptions> = {}) {
    // Li et al. 2019, section III-B: Sub-W takes the top 5 nearest neighbours.
    this.options = resolveOptions('textbugger', { synonymsPerWord: 5, maxWordsTried: 50, rankQueries: 64 }, options, {
      synonymsPerWord: positiveInteger,
      maxWordsTried: positiveInteger,
      rankQueries: positiveInteger,
    });
  }

  async run(oracle: TextOracle, text: string, label: number, ctx: TextAttackContext): Promise<string | undefined> {
    const allowed = ctx.perturbation.edits;
    const rng = ctx.rng;
    const rewrites = (word: string): WordRewrite[] => {
      const out: WordRewrite[] = [];
      const add = (by: string | undefined, chars: number, words: number): void => {
        if (by !== undefined && by !== word) out.push({ by, chars, words });
      };
      if (allowed.has('insert')) add(middle(word, 'space'), 1, 2);
      if (allowed.has('delete')) add(middle(word, 'delete'), 1, 1);
      if (allowed.has('swap')) add(middle(word, 'swap'), 2, 1);
      if (allowed.has('substitute')) add(subC(word), 1, 1);
      if (allowed.has('homoglyph')) add(editWord(word, 'homoglyph', rng), 1, 1);
      if (allowed.has('synonym')) {
        for (const s of ctx.synonyms.synonyms(word).slice(0, this.options.synonymsPerWord)) out.push(wordRewrite(word, s));
      }
      return out;
    };
    return rankedGreedySearch(oracle, text, label, ctx, editableWordTypes(text, ctx, 2), rewrites, this.options);
  }
}
