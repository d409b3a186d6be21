/**
 * The text evaluation's report: what report.json holds (format 'gibbon-text-report', version 1)
 * and the summary lines in TextAttack's format (a two-column table per attack and budget), so
 * numbers can be read beside TextAttack's own runs.
 */
import type { TextAttackOutcome } from '../text/attacks/harness.js';

export const TEXT_REPORT_FORMAT = 'gibbon-text-report';
export const TEXT_REPORT_VERSION = 1;

/** One attacked example under one attack and budget (skipped: the model already got it wrong). */
export interface TextExampleResult {
  readonly example: number;
  readonly outcome: TextAttackOutcome | 'skipped';
}

export interface TextAttackSummary {
  readonly attack: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly attacked: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly rejected: number;
  readonly skipped: number;
  /** succeeded / attacked (attacked: examples the model classified correctly). */
  readonly successRate: number;
  /** Correct and not broken by this attack, over all examples. */
  readonly accuracyUnderAttack: number;
  readonly medianQueries: number;
  readonly meanQueries: number;
  /** Over successful examples. */
  readonly meanWordsChanged: number;
  readonly meanWordFraction: number;
  readonly meanCharEdits: number;
  readonly meanWordsPerInput: number;
  readonly secondsPerExample: number;
  readonly totalSeconds: number;
  readonly results: readonly TextExampleResult[];
}

export interface TextBudgetSummary {
  readonly budget: string;
  readonly charEdits?: number;
  readonly wordFraction?: number;
  /** Correct and broken by no attack of this budget, over all examples. */
  readonly robustAccuracy: number;
  readonly attacks: readonly TextAttackSummary[];
}

export interface TextReport {
  readonly format: typeof TEXT_REPORT_FORMAT;
  readonly version: typeof TEXT_REPORT_VERSION;
  readonly gibbonVersion: string;
  readonly model: string;
  readonly threatModel: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly examples: number;
  readonly cleanAccuracy: number;
  readonly labels?: readonly string[];
  /** The texts (original) and their true labels, index = example. */
  readonly texts: readonly { readonly text: string; readonly label: number; readonly predicted: number }[];
  readonly budgets: readonly TextBudgetSummary[];
  readonly warnings: readonly string[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const mean = (values: readonly number[]): number => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);

/** The summary of one attack's results (attack, options and per-example results given). */
export function summarizeTextAttack(
  attack: string,
  options: Readonly<Record<string, unknown>>,
  results: readonly TextExampleResult[],
  wordsPerInput: readonly number[],
): TextAttackSummary {
  const done = results.flatMap((r) => (r.outcome === 'skipped' ? [] : [r.outcome]));
  const wins = done.filter((o) => o.status === 'success');
  const totalSeconds = done.reduce((s, o) => s + o.milliseconds, 0) / 1000;
  return {
    attack,
    options,
    attacked: done.length,
    succeeded: wins.length,
    failed: done.filter((o) => o.status === 'failed').length,
    rejected: done.filter((o) => o.status === 'rejected').length,
    skipped: results.length - done.length,
    successRate: done.length === 0 ? 0 : wins.length / done.length,
    accuracyUnderAttack: results.length === 0 ? 0 : (done.length - wins.length) / results.length,
    medianQueries: median(done.map((o) => o.queries)),
    meanQueries: mean(done.map((o) => o.queries)),
    meanWordsChanged: mean(wins.map((o) => o.measure!.wordsChanged)),
    meanWordFraction: mean(wins.map((o) => o.measure!.wordFraction)),
    meanCharEdits: mean(wins.map((o) => o.measure!.charEdits)),
    meanWordsPerInput: mean(wordsPerInput),
    secondsPerExample: done.length === 0 ? 0 : totalSeconds / done.length,
    totalSeconds,
    results,
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/** TextAttack's summary table for one attack under one budget. */
export function textAttackSummaryLines(s: TextAttackSummary, cleanAccuracy: number, budget: string): string[] {
  const rows: [string, string][] = [
    ['Number of successful attacks:', String(s.succeeded)],
    ['Number of failed attacks:', String(s.failed + s.rejected)],
    ['Number of skipped attacks:', String(s.skipped)],
    ['Original accuracy:', pct(cleanAccuracy)],
    ['Accuracy under attack:', pct(s.accuracyUnderAttack)],
    ['Attack success rate:', pct(s.successRate)],
    ['Average perturbed word %:', pct(s.meanWordFraction)],
    ['Average num. words per input:', s.meanWordsPerInput.toFixed(1)],
    ['Avg num queries:', s.meanQueries.toFixed(1)],
  ];
  const title = `Attack Results (${s.attack}, ${budget})`;
  const left = Math.max(title.length, ...rows.map((r) => r[0].length));
  const right = Math.max(6, ...rows.map((r) => r[1].length));
  const rule = `+${'-'.repeat(left + 2)}+${'-'.repeat(right + 2)}+`;
  const line = (a: string, b: string): string => `| ${a.padEnd(left)} | ${b.padEnd(right)} |`;
  return [rule, line(title, ''), rule, ...rows.map(([a, b]) => line(a, b)), rule];
}
