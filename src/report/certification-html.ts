/**
 * certification.html: one self-contained page for a certified-accuracy curve, whatever method made
 * it (randomized smoothing, IBP). Like report.html it has no script and fetches nothing (a
 * Content-Security-Policy says so), the chart is static SVG, and all text goes through the
 * escaping `html` template. A pure function of its inputs.
 */
import type { CertifiedAccuracyCurve } from '../certify/result.js';
import { fractionAxis, renderSvgChart, xAxis } from './chart.js';
import { formatNumber, formatPercent, formatSeconds } from './format.js';
import { htmlPage } from './page.js';
import { html, trustedHtml, type SafeHtml } from './safe-html.js';

export interface CertificationPageContext {
  /** The model file, shown in the header. */
  readonly model?: string;
  /** What was certified, e.g. '200 examples of mnist:test'. */
  readonly data?: string;
  /** Extra sentences under the chart (caveats, contrasts). */
  readonly notes?: readonly string[];
}

const METHOD_NAMES: Record<CertifiedAccuracyCurve['method'], string> = {
  'randomized-smoothing': 'randomized smoothing (Cohen, Rosenfeld & Kolter 2019)',
  ibp: 'interval bound propagation (Gowal et al. 2018)',
};
/** How well-known parameters read in the threat-model table; others show their key. */
const PARAMETER_LABELS: Readonly<Record<string, string>> = {
  sigma: 'σ (noise standard deviation)',
  n0: 'n0 (selection samples)',
  samples: 'n (estimation samples)',
  alpha: 'α (failure probability)',
  seed: 'seed',
  eps: 'ε',
};
const NORM_NAMES: Record<CertifiedAccuracyCurve['norm'], string> = { l2: 'L2', linf: 'L∞' };

/** The page as one HTML document. */
export function renderCertificationHtml(curve: CertifiedAccuracyCurve, title: string, context: CertificationPageContext = {}): string {
  const norm = NORM_NAMES[curve.norm];
  const body = html`<header class="page-header">
      <div class="wrap">
        <p class="brand">gibbon · certification</p>
        <h1>${title}</h1>
        <p class="subtitle">${METHOD_NAMES[curve.method]} · ${norm} threat model${context.data ? ` · ${context.data}` : ''}</p>
      </div>
    </header>
    <main class="wrap">
      <section class="summary">
        ${stat('clean accuracy', formatPercent(curve.clean_accuracy), 'of the certified classifier, no perturbation')}
        ${stat(`certified at ${norm} ${formatNumber(middleRadius(curve))}`, formatPercent(accuracyAt(curve, middleRadius(curve))), 'correct and provably constant within the radius')}
        ${curve.abstained !== undefined ? stat('abstained', String(curve.abstained), `of ${curve.n} examples`) : stat('examples', String(curve.n), '')}
        ${stat('time', formatSeconds(curve.seconds), '')}
      </section>
      <section class="grid-2">
        <div class="card">
          <h2 id="chart-title">Certified accuracy versus ${norm} radius</h2>
          <figure class="chart">${trustedHtml(renderCertificationChart(curve))}</figure>
          ${(context.notes ?? []).map((n) => html`<p class="note">${n}</p>`)}
        </div>
        <div>
          <div id="threat-model" class="card">
            <h2>Threat model</h2>
            <table class="kv">
              <tbody>
                <tr>
                  <th>norm</th>
                  <td>${norm}</td>
                </tr>
                <tr>
                  <th>method</th>
                  <td>${curve.method}</td>
                </tr>
                ${Object.entries(curve.parameters).map(
                  ([k, v]) =>
                    html`<tr>
                      <th>${PARAMETER_LABELS[k] ?? k}</th>
                      <td>${String(v)}</td>
                    </tr>`,
                )}
                ${
                  context.model
                    ? html`<tr>
                        <th>model</th>
                        <td class="path">${context.model}</td>
                      </tr>`
                    : ''
                }
                <tr>
                  <th>examples</th>
                  <td>${curve.n}</td>
                </tr>
              </tbody>
            </table>
          </div>
          <div id="table" class="card">
            <h2>Certified accuracy</h2>
            <table class="data">
              <thead>
                <tr>
                  <th class="num">radius</th>
                  <th class="num">certified accuracy</th>
                </tr>
              </thead>
              <tbody>
                ${curve.points
                  .filter((p) => tableRadius(curve, p.radius))
                  .map(
                    (p) =>
                      html`<tr>
                        <td class="num">${formatNumber(p.radius)}</td>
                        <td class="num">${formatPercent(p.certified_accuracy)}</td>
                      </tr>`,
                  )}
              </tbody>
            </table>
          </div>
        </div>
      </section>
    </main>`;
  return htmlPage({ title }, body).value;
}

/** A summary card: label, big value, note (shared with the physical-attack report). */
export function stat(label: string, value: string, note: string): SafeHtml {
  return html`<div class="stat stat-accent">
    <p class="stat-label">${label}</p>
    <p class="stat-value">${value}</p>
    <p class="stat-note">${note}</p>
  </div>`;
}

/** The radius the summary card shows: the middle of the round radii the curve has (0.5 for smoothing's defaults). */
function middleRadius(curve: CertifiedAccuracyCurve): number {
  const round = curve.points.map((p) => p.radius).filter((r) => r > 0 && tableRadius(curve, r));
  return round.length === 0 ? 0 : round[Math.floor((round.length - 1) / 2)]!;
}

/** Radii shown in the table: those with at most 3 decimals (the requested ones, not every step of the curve). */
function tableRadius(curve: CertifiedAccuracyCurve, r: number): boolean {
  return curve.points.length <= 12 || Math.abs(r * 1000 - Math.round(r * 1000)) < 1e-9;
}

function accuracyAt(curve: CertifiedAccuracyCurve, radius: number): number {
  for (const p of curve.points) if (p.radius >= radius) return p.certified_accuracy;
  return 0;
}

/** Certified accuracy as a step function of the radius (it drops at each example's radius). */
export function renderCertificationChart(curve: CertifiedAccuracyCurve): string {
  const points = curve.points.map((p) => [p.radius, p.certified_accuracy]);
  const last = curve.points.at(-1);
  if (last && last.certified_accuracy > 0) points.push([last.radius * 1.0001, 0]);
  return renderSvgChart(
    {
      xAxis: xAxis(`${NORM_NAMES[curve.norm]} radius`, { type: 'value', min: 0 }),
      yAxis: fractionAxis('certified accuracy'),
      series: [
        {
          name: 'certified accuracy',
          type: 'line',
          step: 'start',
          showSymbol: false,
          data: points,
          lineStyle: { width: 2.5, color: '#0b57d0' },
          itemStyle: { color: '#0b57d0' },
        },
      ],
    },
    'chart-title',
    'cert-',
  );
}
