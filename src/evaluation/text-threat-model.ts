/**
 * Text threat models: a threat-model file with `perturbation: text` (image ones have no
 * `perturbation` field). Fields (YAML or JSON; limits below):
 *
 *   perturbation: text
 *   name: spam-words              # optional label for reports
 *   attacks: [pwws, deepwordbug]  # or { name: pwws, options: { maxSynonyms: 20 } }; default: pwws, deepwordbug, random
 *   edits: [swap, substitute, delete, insert, homoglyph, invisible, synonym, word-insert, word-delete]   # default: all
 *   budgets:                      # each budget is evaluated apart; every limit given in one must hold
 *     - { words: 0.1 }            # fraction of whitespace-separated words changed
 *     - { char_edits: 5 }         # code-point Levenshtein distance
 *   stopwords: true               # the built-in English list (default), false, or a list of words
 *   protect: { urls: true, patterns: ['\d{3}-\d{4}'] }   # never touched (default: URLs and e-mail addresses)
 *   query_budget: 2000            # queries per example and attack (default 2000)
 *   data: spam-assassin-test      # or { jsonl: emails.jsonl } ({"text", "label"} per line)
 *   label: spam                   # attack only examples of this class (name or index; optional)
 *   n: 500                        # first n examples (after the label filter)
 *   seed: 0
 */
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import { DEFAULT_PROTECTION, MAX_PATTERN_LENGTH, compilePatterns } from '../text/perturbation/protected-spans.js';
import { DEFAULT_STOPWORDS } from '../text/perturbation/stopwords.js';
import { TEXT_EDITS, type TextBudget, type TextEdit, type TextPerturbation } from '../text/perturbation/text-budget.js';
import { TEXT_ATTACK_NAMES, type TextAttackName } from '../text/attacks/registry.js';

export const SPAM_ASSASSIN_TEST = 'spam-assassin-test';
export const DEFAULT_TEXT_QUERY_BUDGET = 2000;

const LIMITS = { attacks: 16, budgets: 16, stopwords: 10_000, patterns: 32, queryBudget: 1_000_000, n: 1_000_000, charEdits: 10_000 } as const;

const attackSchema = z.union([
  z.enum(TEXT_ATTACK_NAMES),
  z.strictObject({ name: z.enum(TEXT_ATTACK_NAMES), options: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional() }),
]);

const schema = z.strictObject({
  perturbation: z.literal('text'),
  name: z.string().max(200).optional(),
  attacks: z.array(attackSchema).min(1).max(LIMITS.attacks).optional(),
  edits: z
    .array(z.enum(TEXT_EDITS as [TextEdit, ...TextEdit[]]))
    .min(1)
    .optional(),
  budgets: z
    .array(
      z
        .strictObject({ words: z.number().gt(0).max(1).optional(), char_edits: z.number().int().positive().max(LIMITS.charEdits).optional() })
        .refine((b) => b.words !== undefined || b.char_edits !== undefined, 'a budget needs words and/or char_edits'),
    )
    .min(1)
    .max(LIMITS.budgets),
  stopwords: z.union([z.boolean(), z.array(z.string().max(100)).max(LIMITS.stopwords)]).optional(),
  protect: z
    .strictObject({ urls: z.boolean().optional(), patterns: z.array(z.string().min(1).max(MAX_PATTERN_LENGTH)).max(LIMITS.patterns).optional() })
    .optional(),
  query_budget: z.number().int().positive().max(LIMITS.queryBudget).optional(),
  data: z.union([z.literal(SPAM_ASSASSIN_TEST), z.strictObject({ jsonl: z.string().min(1).max(4096) })]),
  label: z.union([z.string().max(100), z.number().int().nonnegative()]).optional(),
  n: z.number().int().positive().max(LIMITS.n).optional(),
  seed: z.number().int().min(0).max(0xffffffff),
});

export interface TextAttackSpec {
  readonly name: TextAttackName;
  readonly options: Readonly<Record<string, number | string | boolean>>;
}

export interface TextThreatModel {
  readonly perturbation: 'text';
  readonly name?: string;
  readonly attacks: readonly TextAttackSpec[];
  readonly edits: readonly TextEdit[];
  readonly budgets: readonly TextBudget[];
  readonly stopwords: readonly string[] | boolean;
  readonly protect: { readonly urls: boolean; readonly patterns: readonly string[] };
  readonly queryBudget: number;
  /** SPAM_ASSASSIN_TEST, or a JSONL path resolved against the threat model's folder. */
  readonly data: typeof SPAM_ASSASSIN_TEST | { readonly jsonl: string };
  readonly label?: string | number;
  readonly n?: number;
  readonly seed: number;
}

/** Whether a parsed threat-model file is a text one. */
export function isTextThreatModelValue(value: unknown): boolean {
  return value !== null && typeof value === 'object' && (value as { perturbation?: unknown }).perturbation === 'text';
}

/** A parsed `perturbation: text` file, validated; errors name the field and what would be valid. */
export function validateTextThreatModel(value: unknown, where: string, resolvePath: (p: string) => string = (p) => p): TextThreatModel {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field '${issue.keys[0]}'${field ? ` in ${field}` : ''}; text threat models have: ${Object.keys(schema.shape).join(', ')}`
        : `${field || 'the file'}: ${issue.message}`;
    throw new GibbonError('invalid_threat_model', `text threat model ${where}: ${message}`, { path: where, option: field || undefined });
  }
  const v = result.data;
  compilePatterns(v.protect?.patterns ?? []);
  return {
    perturbation: 'text',
    ...(v.name !== undefined ? { name: v.name } : {}),
    attacks: (v.attacks ?? ['pwws', 'deepwordbug', 'random']).map((a) =>
      typeof a === 'string' ? { name: a, options: {} } : { name: a.name, options: a.options ?? {} },
    ),
    edits: v.edits ?? TEXT_EDITS,
    budgets: v.budgets.map((b) => ({
      ...(b.words !== undefined ? { wordFraction: b.words } : {}),
      ...(b.char_edits !== undefined ? { charEdits: b.char_edits } : {}),
    })),
    stopwords: v.stopwords ?? true,
    protect: { urls: v.protect?.urls ?? DEFAULT_PROTECTION.urls, patterns: v.protect?.patterns ?? [] },
    queryBudget: v.query_budget ?? DEFAULT_TEXT_QUERY_BUDGET,
    data: v.data === SPAM_ASSASSIN_TEST ? v.data : { jsonl: resolvePath(v.data.jsonl) },
    ...(v.label !== undefined ? { label: v.label } : {}),
    ...(v.n !== undefined ? { n: v.n } : {}),
    seed: v.seed,
  };
}

/** The perturbation set of one budget of a text threat model. */
export function perturbationOf(tm: TextThreatModel, budget: TextBudget): TextPerturbation {
  const stopwords = tm.stopwords === true ? DEFAULT_STOPWORDS : tm.stopwords === false ? new Set<string>() : new Set(tm.stopwords.map((w) => w.toLowerCase()));
  return { edits: new Set(tm.edits), budget, stopwords, protection: tm.protect };
}
