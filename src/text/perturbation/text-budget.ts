/**
 * A text perturbation set: which edits are allowed, how many (the budget), and what may not be
 * touched (stopwords, protected spans). `checkAdversarial` is what the harness runs on every text
 * an attack returns: budget measured by edit-distance.ts, protected spans intact; the label flip is
 * checked by the harness with a fresh query.
 */
import { CHAR_EDITS, type CharEdit } from './char-edits.js';
import { measureEdits, type EditMeasure } from './edit-distance.js';
import { brokenSpan, compilePatterns, protectedSpans, type ProtectionRules, type Span } from './protected-spans.js';
import { budgetUnits } from './words.js';

export const WORD_EDITS = ['synonym', 'word-insert', 'word-delete'] as const;
export type WordEdit = (typeof WORD_EDITS)[number];
export type TextEdit = CharEdit | WordEdit;
export const TEXT_EDITS: readonly TextEdit[] = Object.freeze([...CHAR_EDITS, ...WORD_EDITS]);

/** How much an adversarial text may differ from its original; every limit given must hold. */
export interface TextBudget {
  /** Most code-point edits (Levenshtein distance). */
  readonly charEdits?: number;
  /** Most words changed, as a fraction of the original's whitespace-separated words. */
  readonly wordFraction?: number;
}

export interface TextPerturbation {
  readonly edits: ReadonlySet<TextEdit>;
  readonly budget: TextBudget;
  readonly stopwords: ReadonlySet<string>;
  readonly protection: ProtectionRules;
}

/** "≤ 5 char edits", "≤ 10% words", or both. */
export function budgetLabel(b: TextBudget): string {
  const parts: string[] = [];
  if (b.charEdits !== undefined) parts.push(`≤ ${b.charEdits} char edits`);
  if (b.wordFraction !== undefined) parts.push(`≤ ${Math.round(b.wordFraction * 1000) / 10}% words`);
  return parts.length > 0 ? parts.join(', ') : 'unbounded';
}

/** The limits for one text: most character edits and most words changed (Infinity where unbounded). */
export interface TextLimits {
  readonly charEdits: number;
  readonly words: number;
}

export function limitsFor(text: string, b: TextBudget): TextLimits {
  return {
    charEdits: b.charEdits ?? Infinity,
    words: b.wordFraction === undefined ? Infinity : Math.floor(b.wordFraction * budgetUnits(text).length + 1e-9),
  };
}

export function withinBudget(m: EditMeasure, limits: TextLimits): boolean {
  return m.charEdits <= limits.charEdits && m.wordsChanged <= limits.words;
}

/** Protected spans of `text` under the perturbation set's rules. */
export function spansOf(text: string, p: TextPerturbation): Span[] {
  return protectedSpans(text, p.protection, compilePatterns(p.protection.patterns));
}

export type AdversarialCheck =
  { readonly ok: true; readonly measure: EditMeasure } | { readonly ok: false; readonly reason: string; readonly measure?: EditMeasure };

/** Whether `adversarial` stays inside the perturbation set around `original` (budget, protected spans); the label is checked apart. */
export function checkAdversarial(original: string, adversarial: string, p: TextPerturbation): AdversarialCheck {
  if (adversarial.length === 0 && original.length > 0) return { ok: false, reason: 'the adversarial text is empty' };
  const measure = measureEdits(original, adversarial);
  const limits = limitsFor(original, p.budget);
  if (measure.charEdits > limits.charEdits) return { ok: false, reason: `${measure.charEdits} char edits > ${limits.charEdits}`, measure };
  if (measure.wordsChanged > limits.words) return { ok: false, reason: `${measure.wordsChanged} words changed > ${limits.words}`, measure };
  const broken = brokenSpan(original, adversarial, spansOf(original, p));
  if (broken !== undefined) return { ok: false, reason: `protected span changed: ${JSON.stringify(broken.slice(0, 60))}`, measure };
  return { ok: true, measure };
}
