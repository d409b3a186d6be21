/**
 * Runs a text threat model on a text classifier: clean predictions in batches, then every attack
 * under every budget on every correctly classified example, through the re-checking harness
 * (text/attacks/harness.ts), with a checkpoint (OUT/text-checkpoint.json, one checksummed record
 * per batch of examples of one attack and budget, written atomically) so an interrupted run resumes
 * where it stopped. Each example's randomness is derived from (seed, attack, budget, example), so a
 * resumed run gives the numbers of an uninterrupted one. Attacks run independently (no cascade):
 * every attack's own success rate is reported, and robust accuracy per budget counts an example as
 * broken when any attack broke it.
 */
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { deriveSeed } from '../random.js';
import { readRecordCheckpoint, writeRecordCheckpoint, fingerprintDifference, type RecordCheckpoint } from '../storage/checkpoint-file.js';
import type { TextClassifier } from '../text/classifier.js';
import { attackText } from '../text/attacks/harness.js';
import { makeTextAttack } from '../text/attacks/registry.js';
import { type SynonymSource } from '../text/attacks/text-attack.js';
import { argmax } from '../tensor/scores.js';
import { budgetLabel } from '../text/perturbation/text-budget.js';
import { budgetUnits } from '../text/perturbation/words.js';
import { summarizeTextAttack, TEXT_REPORT_FORMAT, TEXT_REPORT_VERSION, type TextExampleResult, type TextReport } from '../report/text-report.js';
import { perturbationOf, type TextThreatModel } from './text-threat-model.js';

export const TEXT_CHECKPOINT_FILE = 'text-checkpoint.json';
const FORMAT = 'gibbon-text-checkpoint';
/** Version 1 is what checkpoint-file.ts treats as unchecksummed; text checkpoints start at 2, with checksums. */
const VERSION = 2;
const OUTCOMES = ['success', 'failed', 'rejected'];

export interface TextExample {
  readonly text: string;
  readonly label: number;
}

export interface TextRunOptions {
  readonly model: TextClassifier;
  /** Name of the model for reports (a file name, a URL). */
  readonly modelName: string;
  /** What identifies the model for the checkpoint (e.g. its file's SHA-256). */
  readonly modelId: string;
  readonly examples: readonly TextExample[];
  readonly threatModel: TextThreatModel;
  readonly synonyms: SynonymSource;
  /** Folder for the checkpoint; absent: no checkpoint. */
  readonly out?: string;
  /** Continue from the checkpoint in `out` (otherwise an existing one is started over). */
  readonly resume?: boolean;
  /** Examples per checkpoint record (default 10). */
  readonly batch?: number;
  /** Texts per clean `scores` call (default 32). */
  readonly scoreBatch?: number;
  readonly gibbonVersion: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number, what: string) => void;
}

interface TextRecord {
  readonly index: number;
  readonly results: readonly TextExampleResult[];
}

type TextCheckpoint = RecordCheckpoint<TextRecord>;

function recordProblem(value: unknown): string | undefined {
  const r = value as Partial<TextRecord> | null;
  if (!r || typeof r !== 'object' || !Number.isInteger(r.index) || !Array.isArray(r.results)) return 'not a text checkpoint record';
  for (const x of r.results as unknown[]) {
    const e = x as Partial<TextExampleResult> | null;
    if (!e || !Number.isInteger(e.example)) return 'a result has no example index';
    if (e.outcome === 'skipped') continue;
    const o = e.outcome as { status?: unknown; queries?: unknown; milliseconds?: unknown } | undefined;
    if (!o || !OUTCOMES.includes(o.status as string) || typeof o.queries !== 'number' || typeof o.milliseconds !== 'number')
      return 'a result has no valid outcome';
  }
  return undefined;
}

/** Evaluates the threat model; returns the report (report.json's content) and how many checkpoint records were reused. */
export async function evaluateText(options: TextRunOptions): Promise<{ readonly report: TextReport; readonly resumed: number }> {
  const { model, examples, threatModel: tm } = options;
  if (examples.length === 0) throw new GibbonError('invalid_input', 'no examples to evaluate (the data is empty after the label filter)');
  const batch = options.batch ?? 10;
  const scoreBatch = options.scoreBatch ?? 32;
  const predictions: number[] = [];
  for (let i = 0; i < examples.length; i += scoreBatch) {
    const logits = await model.scores(examples.slice(i, i + scoreBatch).map((e) => e.text));
    for (const l of logits) {
      if (!(l instanceof Float32Array) || l.length !== model.classes) {
        throw new GibbonError('invalid_model', `the model answered ${l?.length} scores for a text; it declares ${model.classes} classes`);
      }
      predictions.push(argmax(l));
    }
  }
  const fingerprint = { model: options.modelId, threatModel: tm, examples: examples.length, batch };
  const path = options.out ? join(options.out, TEXT_CHECKPOINT_FILE) : undefined;
  const kind = { run: 'text evaluation', format: FORMAT, version: VERSION, unit: 'batch', hasFields: () => true, recordProblem };
  const loaded = path && options.resume ? readRecordCheckpoint<TextRecord, TextCheckpoint>(path, kind) : undefined;
  if (loaded) {
    const diff = fingerprintDifference(loaded.fingerprint, fingerprint);
    if (diff) throw new GibbonError('invalid_checkpoint', `${path} is of another run (${diff}); delete it or use another --out folder`, { path });
  }
  const records = new Map<number, TextRecord>((loaded?.records ?? []).map((r) => [r.index, r]));
  const resumed = records.size;
  const batches = Math.ceil(examples.length / batch);
  const total = tm.budgets.length * tm.attacks.length * examples.length;
  let done = 0;
  const budgets = [];
  for (const [b, budget] of tm.budgets.entries()) {
    const perturbation = perturbationOf(tm, budget);
    const summaries = [];
    for (const [a, spec] of tm.attacks.entries()) {
      const attack = makeTextAttack(spec.name, spec.options);
      const results: TextExampleResult[] = [];
      for (let k = 0; k < batches; k++) {
        const index = (b * tm.attacks.length + a) * batches + k;
        let record = records.get(index);
        if (!record) {
          const part: TextExampleResult[] = [];
          for (let i = k * batch; i < Math.min(examples.length, (k + 1) * batch); i++) {
            options.signal?.throwIfAborted();
            const e = examples[i]!;
            if (predictions[i] !== e.label) {
              part.push({ example: i, outcome: 'skipped' });
              continue;
            }
            const seed = deriveSeed(tm.seed, spec.name, b, i);
            const outcome = await attackText(attack, model, e.text, e.label, {
              perturbation,
              queryBudget: tm.queryBudget,
              synonyms: options.synonyms,
              seed,
              ...(options.signal ? { signal: options.signal } : {}),
            });
            part.push({ example: i, outcome });
          }
          record = { index, results: part };
          records.set(index, record);
          if (path) writeRecordCheckpoint(path, { format: FORMAT, version: VERSION, fingerprint, records: [...records.values()] }, 'text checkpoint');
        }
        results.push(...record.results);
        done += record.results.length;
        options.onProgress?.(done, total, `${spec.name} · ${budgetLabel(budget)}`);
      }
      summaries.push(
        summarizeTextAttack(
          attack.name,
          attack.options,
          results,
          examples.map((e) => budgetUnits(e.text).length),
        ),
      );
    }
    const broken = new Set(summaries.flatMap((s) => s.results.filter((r) => r.outcome !== 'skipped' && r.outcome.status === 'success').map((r) => r.example)));
    const correct = predictions.filter((p, i) => p === examples[i]!.label).length;
    budgets.push({ budget: budgetLabel(budget), ...budget, robustAccuracy: (correct - broken.size) / examples.length, attacks: summaries });
  }
  const cleanAccuracy = predictions.filter((p, i) => p === examples[i]!.label).length / examples.length;
  const warnings = budgets.flatMap((b) =>
    b.attacks.filter((s) => s.rejected > 0).map((s) => `${s.attack} (${b.budget}): ${s.rejected} adversarial texts rejected by the harness`),
  );
  const report: TextReport = {
    format: TEXT_REPORT_FORMAT,
    version: TEXT_REPORT_VERSION,
    gibbonVersion: options.gibbonVersion,
    model: options.modelName,
    threatModel: tm as unknown as Record<string, unknown>,
    seed: tm.seed,
    examples: examples.length,
    cleanAccuracy,
    ...(model.labels ? { labels: model.labels } : {}),
    texts: examples.map((e, i) => ({ text: e.text, label: e.label, predicted: predictions[i]! })),
    budgets,
    warnings,
  };
  return { report, resumed };
}
