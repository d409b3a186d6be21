/**
 * `gibbon eval [MODEL] [--threat FILE|PRESET] [--data mnist-test | X.npy --labels Y.npy] [--n N]
 * [--attacks auto|fast|a,b] [--out DIR] [--resume] [--fail-under ACC] [--junit FILE] …`:
 * runs evaluation/runner.ts and prints clean versus robust accuracy per ε and per attack, the
 * masking checks (with advice for the failed ones) and where the report went. `--fail-under`
 * compares the robust accuracy at the threat model's largest ε (its stated budget) with the bar.
 * A threat model with an `endpoint` evaluates that HTTP model instead of an ONNX file (then no
 * MODEL may be given), and the output ends with the endpoint's request, retry and failure counts.
 */
import { writeFileAtomically } from '../../storage/atomic-write.js';
import { join } from 'node:path';
import { GibbonError } from '../../errors.js';
import { ADVERSARIALS_MANIFEST } from '../../evaluation/adversarial-export.js';
import { inputDomainText } from '../../evaluation/channel-bounds.js';
import { formatJunit } from '../../evaluation/junit.js';
import { evaluate, IN_PROCESS, type EvaluationProgress } from '../../evaluation/runner.js';
import type { ThreatModel } from '../../evaluation/threat-model.js';
import { formatPercent as pct } from '../../report/format.js';
import type { Report } from '../../report/index.js';
import { BelowThresholdError } from '../below-threshold.js';
import { checkOutputIsNotAnInput, checkWritableFile, lockOutputFolderForRun, prepareOutputFolder } from '../files.js';
import { alignColumns, shownPath } from '../format.js';
import { openEvalInputs, readEvalPlan, type EvalValues } from '../eval-inputs.js';

export type { EvalValues } from '../eval-inputs.js';
import { startProgress, type Progress } from '../progress.js';
import type { Terminal } from '../terminal.js';

function describeThreatModel(tm: ThreatModel, report: Report): string {
  const norm = tm.norm === 'linf' ? 'L∞' : 'L2';
  const targeted = tm.targeted ? `targeted (${tm.targeted.targets} targets)` : 'untargeted';
  const budget = tm.query_budget !== undefined ? `, ${tm.query_budget} queries per example and attack` : '';
  const name = tm.name ? `${tm.name}: ` : '';
  return `${name}${tm.knowledge}, ${norm}, ${targeted}, ε ∈ {${tm.eps.join(', ')}}, ${inputDomainText(tm.input)}${budget}; ${report.n} examples of ${shownPath(report.data)}, seed ${report.seed}`;
}

/** Accuracy per ε (columns) for the worst case and after each attack (rows), then costs per attack. */
function resultTables(report: Report): string[] {
  const eps = report.robust_accuracy.map((p) => p.eps);
  const normSymbol = report.threat_model['norm'] === 'l2' ? '‖δ‖₂' : '‖δ‖∞';
  const header = ['accuracy', 'clean', ...eps.map((e) => `ε=${e}`)];
  const rows: string[][] = [header, ['worst case over attacks', pct(report.clean_accuracy), ...report.robust_accuracy.map((p) => pct(p.accuracy))]];
  const labels = [...new Set(report.attacks.map((a) => a.name))];
  for (const label of labels) {
    rows.push([
      label.endsWith('(check)') ? `  ${label}, alone` : `  after ${label}`,
      '',
      ...eps.map((e) => {
        const a = report.attacks.find((r) => r.name === label && r.eps === e);
        return a ? pct(a.accuracy) : '';
      }),
    ]);
  }
  const costs: string[][] = [['attack', `mean ${normSymbol} per ε`, 'queries', 'steps', 'time']];
  for (const label of labels) {
    const records = report.attacks.filter((a) => a.name === label);
    costs.push([
      label,
      records.map((a) => (a.mean_norm === null ? '–' : a.mean_norm.toFixed(3))).join(' / '),
      String(records.reduce((s, a) => s + a.queries, 0)),
      String(records.reduce((s, a) => s + a.steps, 0)),
      `${records.reduce((s, a) => s + a.seconds, 0).toFixed(1)} s`,
    ]);
  }
  return [...alignColumns(rows), '', ...alignColumns(costs)];
}

function checkLines(report: Report): string[] {
  const checks = report.masking_checks;
  if (checks.length === 0) return [];
  const failed = checks.filter((c) => !c.passed);
  const lines = [`gradient-masking checks: ${checks.length - failed.length} passed, ${failed.length} failed`];
  for (const c of failed) {
    lines.push(`  ✖ ${c.name}: ${c.detail}`);
    if (c.advice) lines.push(`    → ${c.advice}`);
  }
  const passed = checks.filter((c) => c.passed).map((c) => c.name);
  if (passed.length > 0) lines.push(`  ✓ ${passed.join(', ')}`);
  return lines;
}

export async function run(values: EvalValues, terminal: Terminal): Promise<void> {
  // A `perturbation: text` threat model is run by text-eval (docs/text-attacks.md).
  const text = await import('./text-eval.js');
  if (values.model !== undefined && text.readTextThreatModel(values.threat)) return text.run({ ...values, model: values.model }, terminal);
  // A `perturbation: patch|universal` threat model measures saved patches or UAPs (docs/physical.md).
  const physical = await import('./physical-eval.js');
  if (physical.readPhysicalThreatModel(values.threat)) return physical.run(values, terminal);
  const { tm, ensemble } = readEvalPlan(values);
  prepareOutputFolder(values.out, '--out');
  lockOutputFolderForRun(values.out, '--out');
  if (values.junit) checkWritableFile(values.junit, '--junit');
  const inputs = [
    { path: values.model, option: 'MODEL' },
    { path: values.threat, option: '--threat' },
    { path: values.data, option: '--data' },
    { path: values.labels, option: '--labels' },
  ];
  checkOutputIsNotAnInput({ path: values.junit, option: '--junit' }, inputs);
  if (values.saveAdversarials) prepareOutputFolder(values.saveAdversarials, '--save-adversarials');

  const { models, options } = await openEvalInputs(values, tm, ensemble, (line) => terminal.note(line));
  const { endpoint: http } = models;
  const path = models.facts.path;
  let bar: Progress | undefined;
  try {
    let starting: Promise<void> | undefined;
    const onProgress = (p: EvaluationProgress): void => {
      if (!starting) starting = startProgress(terminal, 'eval', p.total).then((b) => void (bar = b));
      bar?.update(p.done);
    };
    // --queue: the batches are computed by workers through PostgreSQL (cli/shard-eval.ts, docs/scale.md).
    const sharded = values.queue !== undefined || values.workers !== undefined || values.lease !== undefined;
    const shard = sharded ? await (await import('../shard-eval.js')).shardedRun(values, terminal) : undefined;
    const result = await evaluate(
      { ...options, out: values.out, resume: values.resume ?? false, saveAdversarials: values.saveAdversarials, onProgress, signal: shard?.signal },
      shard?.executor ?? IN_PROCESS,
    ).finally(async () => {
      shard?.release();
      await starting;
      bar?.stop();
    });
    const report = result.report;
    for (const note of result.notes) terminal.note(`note: ${note}`);

    const largest = report.robust_accuracy[report.robust_accuracy.length - 1]!;
    const lines = [
      http
        ? `gibbon eval ${path} (HTTP endpoint, ${report.model.num_classes} classes)`
        : `gibbon eval ${shownPath(path)} (sha256 ${report.model.sha256.slice(0, 12)}…, ${report.model.num_classes} classes)`,
      `threat model ${describeThreatModel(tm, report)}`,
      `attacks: ${ensemble.name} (${result.stages.join(' → ')}), a cascade: each attack gets the examples still robust${report.masking_checks.length > 0 ? '; masking-check runs: FGSM, random noise, unbounded PGD' : ''}`,
      '',
      ...resultTables(report),
      '',
      ...checkLines(report),
    ];
    const warnings = report.warnings.filter((w) => w.code !== 'note');
    if (warnings.length > 0) lines.push('', ...warnings.map((w) => `warning: ${w.message}`));
    lines.push('');
    if (http) {
      const s = http.stats;
      lines.push(`endpoint: ${s.requests} requests, ${s.retries} retries, ${s.failures} failures`);
    }
    if (values.saveAdversarials) lines.push(`adversarial examples: ${shownPath(join(values.saveAdversarials, ADVERSARIALS_MANIFEST))} (and eps-*.npy)`);
    if (result.resumedBatches > 0) lines.push(`resumed ${result.resumedBatches} finished batch(es) from ${shownPath(result.files.checkpoint ?? values.out)}`);
    lines.push(`${report.n} examples in ${report.seconds.toFixed(1)} s; report: ${shownPath(result.files.html ?? values.out)} (and report.json)`);
    if (values.junit) {
      try {
        writeFileAtomically(values.junit, formatJunit(report, { failUnder: values.failUnder }), { what: '--junit' });
      } catch (e) {
        throw new GibbonError('file_unwritable', (e as Error).message, { path: values.junit, option: '--junit' }, { cause: e });
      }
      lines.push(`JUnit XML: ${shownPath(values.junit)}`);
    }
    terminal.out(lines.join('\n'));
    if (values.failUnder !== undefined && largest.accuracy < values.failUnder) {
      throw new BelowThresholdError(
        `robust accuracy ${pct(largest.accuracy)} at ε=${largest.eps} (the threat model's largest budget) is below --fail-under ${pct(values.failUnder)}`,
      );
    }
  } finally {
    await models.dispose();
  }
}
