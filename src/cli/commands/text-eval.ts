/**
 * `gibbon text-eval MODEL --threat text.yaml [--out DIR] [--resume] [--n N] [--seed S] [--vocab FILE]`,
 * also reached as `gibbon eval MODEL --threat text.yaml` when the threat model says
 * `perturbation: text`: runs the text threat model's attacks on an ONNX text model (its vocabulary
 * in the model's metadata or --vocab), writes report.json and report.html to --out, and prints the
 * per-budget table and TextAttack-style summaries.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GibbonError } from '../../errors.js';
import { readThreatModelValue } from '../../evaluation/threat-model.js';
import { loadTextExamples } from '../../evaluation/text-examples.js';
import { evaluateText } from '../../evaluation/text-runner.js';
import { isTextThreatModelValue, validateTextThreatModel, type TextThreatModel } from '../../evaluation/text-threat-model.js';
import { renderTextReportHtml, TEXT_REPORT_HTML_FILE } from '../../report/text-html.js';
import { textAttackSummaryLines } from '../../report/text-report.js';
import { writeFileAtomically } from '../../storage/atomic-write.js';
import { sha256Hex } from '../../storage/checkpoint-file.js';
import { OnnxTextModel } from '../../text/onnx-text-model.js';
import { WordNetSynonyms } from '../../text/perturbation/synonyms.js';
import { lockOutputFolderForRun, prepareOutputFolder } from '../files.js';
import { shownPath } from '../format.js';
import { packageVersion } from '../package-root.js';
import { startProgress, type Progress } from '../progress.js';
import type { Terminal } from '../terminal.js';

export interface TextEvalValues {
  readonly model: string;
  readonly threat: string;
  readonly out: string;
  readonly resume?: boolean;
  readonly n?: number;
  readonly seed?: number;
  readonly vocab?: string;
  readonly threads?: number;
  readonly batchSize?: number;
}

/** The text threat model in `path`, or undefined when the file is not a text one (or not a file). */
export function readTextThreatModel(path: string): TextThreatModel | undefined {
  const read = readThreatModelValue(path);
  if (!read || !isTextThreatModelValue(read.value)) return undefined;
  return validateTextThreatModel(read.value, path, (p) => join(read.baseDir, p));
}

export async function run(values: TextEvalValues, terminal: Terminal): Promise<void> {
  if (!existsSync(values.threat))
    throw new GibbonError('file_not_found', `threat model file not found: ${values.threat}`, { path: values.threat, option: '--threat' });
  const base = readTextThreatModel(values.threat);
  if (!base) {
    throw new GibbonError('invalid_threat_model', `${values.threat} is not a text threat model (it needs perturbation: text)`, {
      path: values.threat,
      option: '--threat',
    });
  }
  const tm: TextThreatModel = { ...base, ...(values.n !== undefined ? { n: values.n } : {}), ...(values.seed !== undefined ? { seed: values.seed } : {}) };
  prepareOutputFolder(values.out, '--out');
  lockOutputFolderForRun(values.out, '--out');
  const model = await OnnxTextModel.open(values.model, {
    ...(values.vocab ? { vocabularyPath: values.vocab } : {}),
    ...(values.threads ? { threads: values.threads } : {}),
    ...(values.batchSize ? { batchSize: values.batchSize } : {}),
  });
  let bar: Progress | undefined;
  let starting: Promise<void> | undefined;
  try {
    const { examples } = loadTextExamples(tm, model.labels);
    const started = performance.now();
    const { report, resumed } = await evaluateText({
      model,
      modelName: shownPath(values.model),
      modelId: sha256Hex(readFileSync(values.model)),
      examples,
      threatModel: tm,
      synonyms: new WordNetSynonyms(),
      out: values.out,
      resume: values.resume ?? false,
      gibbonVersion: packageVersion(),
      onProgress: (done, total) => {
        if (!starting) starting = startProgress(terminal, 'text-eval', total).then((b) => void (bar = b));
        bar?.update(done);
      },
    }).finally(async () => {
      await starting;
      bar?.stop();
    });
    writeFileAtomically(join(values.out, 'report.json'), JSON.stringify(report, null, 1), { what: 'report.json' });
    writeFileAtomically(join(values.out, TEXT_REPORT_HTML_FILE), renderTextReportHtml(report), { what: TEXT_REPORT_HTML_FILE });
    const lines = [
      `gibbon text-eval ${shownPath(values.model)} (${model.classes} classes, ${model.vocabulary.tokens.length} ${model.vocabulary.unit} tokens)`,
      `threat model ${tm.name ?? shownPath(values.threat)}: edits ${tm.edits.join(', ')}; ${tm.queryBudget} queries per example and attack; seed ${tm.seed}`,
      `${report.examples} examples; clean accuracy ${(100 * report.cleanAccuracy).toFixed(1)}%`,
      '',
      ...report.budgets.flatMap((b) => [
        `${b.budget}: robust accuracy ${(100 * b.robustAccuracy).toFixed(1)}%`,
        ...b.attacks.map(
          (s) =>
            `  ${s.attack.padEnd(12)} success ${(100 * s.successRate).toFixed(1).padStart(5)}% · median ${s.medianQueries.toFixed(0)} queries · ` +
            `${(100 * s.meanWordFraction).toFixed(1)}% words · ${s.meanCharEdits.toFixed(1)} char edits · ${s.secondsPerExample.toFixed(3)} s/example` +
            (s.rejected > 0 ? ` · ${s.rejected} rejected by the harness` : ''),
        ),
      ]),
      '',
      ...report.budgets.flatMap((b) => b.attacks.flatMap((s) => [...textAttackSummaryLines(s, report.cleanAccuracy, b.budget), ''])),
      ...report.warnings.map((w) => `warning: ${w}`),
      ...(resumed > 0 ? [`resumed ${resumed} finished batch(es) from ${shownPath(join(values.out, 'text-checkpoint.json'))}`] : []),
      `${((performance.now() - started) / 1000).toFixed(1)} s; report: ${shownPath(join(values.out, TEXT_REPORT_HTML_FILE))} (and report.json)`,
    ];
    terminal.out(lines.join('\n'));
  } finally {
    await model.dispose();
  }
}
