/**
 * From the playground's form to the evaluation runner's options, and from its report to what the
 * page shows and offers for download. Pure functions (the worker calls them; tests call them in Node).
 */
import { checkDomain, checkFits, checkLabels } from '../evaluation/data.js';
import type { EvaluationOptions } from '../evaluation/runner.js';
import { resolveEnsemble } from '../evaluation/presets.js';
import { checkThreatModelFitsModel, validateThreatModel, type ModelFacts } from '../evaluation/threat-model-validation.js';
import { MNIST_TEST } from '../evaluation/threat-model-schema.js';
import { GibbonError } from '../errors.js';
import { renderRobustnessChart } from '../report/chart.js';
import { formatNormName } from '../report/format.js';
import { formatReportJson, renderReportHtml, type Report } from '../report/index.js';
import type { EvaluationOutcome, EvaluationRequest } from './protocol.js';

/** The bundled samples' name: the first MNIST test images, as `--data mnist-test` reads them. */
export const BUNDLED_SAMPLES = MNIST_TEST;
/** Gallery images per ε in report.json/report.html, as the CLI writes them (evaluation/runner.ts's default). */
export const REPORT_GALLERY_SIZE = 3;

const FIELDS = { x: 'examples', labels: 'labels', n: 'n' } as const;

/** The runner's options (all but the model) for a request, checked against the model like `gibbon eval` checks its data. */
export function evaluationInputs(request: EvaluationRequest, model: ModelFacts, modelName: string): Omit<EvaluationOptions, 'model' | 'white'> {
  const available = request.x.shape[0] ?? 0;
  if (!Number.isInteger(request.n) || request.n < 1 || request.n > available) {
    throw new GibbonError('invalid_option', `n = ${request.n} but ${request.source} holds ${available} examples; valid: 1 … ${available}`, { option: 'n' });
  }
  if (request.labels.length !== available) {
    throw new GibbonError('invalid_input', `${request.source} has ${available} examples but ${request.labels.length} labels`, { option: 'labels' });
  }
  const threatModel = validateThreatModel(
    {
      knowledge: 'white-box',
      norm: request.norm,
      eps: [...request.eps],
      input: { bounds: [...request.bounds] },
      data: request.source === BUNDLED_SAMPLES ? MNIST_TEST : { x: request.source, labels: `${request.source} (labels)` },
      n: request.n,
      seed: request.seed,
    },
    'the form',
  );
  checkThreatModelFitsModel(threatModel, model, modelName);
  checkFits(request.x.shape, model, request.source, FIELDS.x);
  const row = request.x.data.length / available;
  const first = { data: request.x.data.slice(0, request.n * row), shape: [request.n, ...request.x.shape.slice(1)] };
  const x = checkDomain(first, threatModel, request.source, FIELDS.x);
  const labels = request.labels.slice(0, request.n);
  checkLabels(labels, model.numClasses, request.source, FIELDS.labels);
  return {
    modelPath: modelName,
    threatModel,
    data: { x, labels, source: request.source, notes: [] },
    ensemble: resolveEnsemble(request.attacks.join(','), 'attacks'),
    checks: request.checks,
    // Every adversarial example found is kept for the page (gallery, .npy); the downloaded report keeps the CLI's 3 per ε.
    gallerySize: request.n,
  };
}

/** What the page shows and offers for a finished evaluation. */
export function finishedOutcome(report: Report, seconds: number): EvaluationOutcome {
  const perEps = new Map<number, number>();
  const gallery = report.gallery.filter((g) => {
    const k = perEps.get(g.eps) ?? 0;
    perEps.set(g.eps, k + 1);
    return k < REPORT_GALLERY_SIZE;
  });
  const cliReport: Report = { ...report, gallery };
  const norm = String((report.threat_model as Record<string, unknown>)['norm'] ?? '');
  return {
    report,
    reportJson: formatReportJson(cliReport),
    reportHtml: renderReportHtml(cliReport),
    chartSvg: renderRobustnessChart(report, norm ? formatNormName(norm) : 'norm'),
    seconds,
  };
}
