/**
 * `npm run text-acceptance [-- --n 500] [--model models/spam-cnn.onnx] [--attacks pwws,deepwordbug,hotflip,random,textfooler,textbugger]`
 * Issue 15's acceptance measurement: the bundled spam filter (models/spam-bag.onnx) against the
 * first n held-out SpamAssassin spam emails (test split, seed 0): PWWS, TextFooler and the random
 * baseline at ≤ 10% words changed; DeepWordBug, TextBugger, HotFlip and the random baseline at
 * ≤ 5 character edits (DeepWordBug's four paper edits only); seed 0. Prints one line per attack
 * (success rate, median and mean queries, words changed, seconds) and the wall time of each run.
 */
import { parseArgs } from 'node:util';
import { basename, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateText } from '../src/evaluation/text-runner.js';
import { loadTextExamples } from '../src/evaluation/text-examples.js';
import { validateTextThreatModel } from '../src/evaluation/text-threat-model.js';
import { OnnxTextModel } from '../src/text/onnx-text-model.js';
import { WordNetSynonyms } from '../src/text/perturbation/synonyms.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface AcceptanceRow {
  readonly attack: string;
  readonly budget: string;
  readonly successRate: number;
  readonly attacked: number;
  readonly medianQueries: number;
  readonly meanQueries: number;
  readonly meanWordFraction: number;
  readonly meanCharEdits: number;
  readonly seconds: number;
  readonly rejected: number;
}

const CHAR_ATTACKS = new Set(['deepwordbug', 'textbugger', 'hotflip']);

/** Runs each attack on the first `n` test spam emails at its budget; one row per (attack, budget). */
export async function textAcceptance(n: number, attacks: readonly string[], modelPath = join(ROOT, 'models', 'spam-bag.onnx')): Promise<AcceptanceRow[]> {
  const model = await OnnxTextModel.open(modelPath, { threads: Number(process.env.GIBBON_TEXT_THREADS ?? 1) });
  const synonyms = new WordNetSynonyms();
  const rows: AcceptanceRow[] = [];
  try {
    for (const attack of attacks) {
      const budgets = attack === 'random' ? [{ words: 0.1 }, { char_edits: 5 }] : CHAR_ATTACKS.has(attack) ? [{ char_edits: 5 }] : [{ words: 0.1 }];
      for (const budget of budgets) {
        const chars = budget.char_edits !== undefined;
        const tm = validateTextThreatModel(
          {
            perturbation: 'text',
            attacks: [attack],
            budgets: [budget],
            edits: chars ? ['swap', 'substitute', 'delete', 'insert'] : ['synonym'],
            data: 'spam-assassin-test',
            label: 'spam',
            n,
            seed: 0,
          },
          'acceptance',
        );
        const { examples } = loadTextExamples(tm, model.labels);
        const started = performance.now();
        const { report } = await evaluateText({
          model,
          modelName: basename(modelPath),
          modelId: modelPath,
          examples,
          threatModel: tm,
          synonyms,
          gibbonVersion: 'bench',
        });
        const s = report.budgets[0]!.attacks[0]!;
        rows.push({
          attack,
          budget: report.budgets[0]!.budget,
          successRate: s.successRate,
          attacked: s.attacked,
          medianQueries: s.medianQueries,
          meanQueries: s.meanQueries,
          meanWordFraction: s.meanWordFraction,
          meanCharEdits: s.meanCharEdits,
          seconds: (performance.now() - started) / 1000,
          rejected: s.rejected,
        });
      }
    }
  } finally {
    await model.dispose();
  }
  return rows;
}

export function formatAcceptance(rows: readonly AcceptanceRow[]): string[] {
  return rows.map(
    (r) =>
      `${r.attack.padEnd(12)} ${r.budget.padEnd(16)} success ${(100 * r.successRate).toFixed(1).padStart(5)}% of ${r.attacked}  ` +
      `queries median ${r.medianQueries.toFixed(0).padStart(4)} mean ${r.meanQueries.toFixed(0).padStart(4)}  ` +
      `words ${(100 * r.meanWordFraction).toFixed(1)}%  char edits ${r.meanCharEdits.toFixed(1)}  ${r.seconds.toFixed(1)} s  rejected ${r.rejected}`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '500' },
      attacks: { type: 'string', default: 'pwws,deepwordbug,hotflip,random,textfooler,textbugger' },
      model: { type: 'string', default: join(ROOT, 'models', 'spam-bag.onnx') },
    },
  });
  const rows = await textAcceptance(Number(values.n), values.attacks!.split(','), resolve(values.model!));
  for (const line of formatAcceptance(rows)) console.log(line);
}
