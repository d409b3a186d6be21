/**
 * report.html: one self-contained page that works offline. Styles are inline, images are PNG
 * data: URIs, the chart is static SVG, and there is no script at all; a Content-Security-Policy
 * forbids the page from fetching anything, so a stray external reference would fail loudly in a
 * browser rather than leak. Every piece of text from the report goes through the escaping `html`
 * template.
 */
import { join } from 'node:path';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { hasQueryCurves, renderQueryChart, renderRobustnessChart } from './chart.js';
import { threatModelTable, modelTable, runTable } from './details-html.js';
import { formatCount, formatCreated, formatEps, formatNormName, formatNumber, formatPercent, formatSeconds, humanise, signedPoints } from './format.js';
import { gallerySection } from './gallery-html.js';
import { htmlPage } from './page.js';
import { parseReport } from './parse.js';
import { html, trustedHtml, type SafeHtml } from './safe-html.js';
import type { AttackRecord, MaskingCheck, Report } from './schema.js';

export const REPORT_HTML_FILE = 'report.html';

/** The report as one HTML document (a pure function of the report). Throws if the report is invalid. */
export function renderReportHtml(input: Report): string {
  const report = parseReport(input);
  const norm = threatModelString(report.threat_model, 'norm');
  const normLabel = norm ? formatNormName(norm) : 'norm';
  const failed = report.masking_checks.filter((c) => !c.passed);
  const title = `gibbon report — ${baseName(report.model.path)}`;
  const body = html`<header class="page-header">
      <div class="wrap">
        <p class="brand">gibbon · robustness report</p>
        <h1>${baseName(report.model.path)}</h1>
        <p class="subtitle">${subtitle(report, normLabel)}</p>
      </div>
    </header>
    <main class="wrap">
      ${summaryCards(report, failed)} ${failed.length > 0 ? maskingAlert(failed) : ''} ${report.warnings.length > 0 ? warningsBox(report.warnings) : ''}
      <section id="robustness" class="grid-2 stretch">
        <div class="card chart-card">
          <h2 id="chart-title">Robust accuracy versus ε</h2>
          <figure id="robustness-chart" class="chart">${trustedHtml(renderRobustnessChart(report, normLabel))}</figure>
          <p class="note">
            Worst case per example over all attacks (solid) and per attack row (dashed: cumulative after each ensemble stage; alone for check runs); ε = 0 is
            clean accuracy.
          </p>
        </div>
        <div id="accuracy" class="card">
          <h2>Clean versus robust accuracy</h2>
          ${accuracyTable(report)}
          <p class="note">An example counts as robust at ε only if every attack failed on it, so robust accuracy is never above any single attack’s.</p>
        </div>
      </section>
      ${querySection(report)} ${gallerySection(report, normLabel)}
      <section id="attacks" class="card">
        <h2>Attacks</h2>
        ${attacksTable(report.attacks, normLabel)}
      </section>
      <section id="masking-checks" class="card">
        <h2>Gradient-masking checks</h2>
        <p class="lead">
          Signs that gradients are hidden rather than the model robust (Carlini et al. 2019, “On Evaluating Adversarial Robustness”; Athalye et al. 2018).
        </p>
        ${checksTable(report.masking_checks)}
      </section>
      <section class="grid-2 even">
        <div id="threat-model" class="card">
          <h2>Threat model</h2>
          ${threatModelTable(report.threat_model)}
        </div>
        <div>
          <div id="model" class="card">
            <h2>Model</h2>
            ${modelTable(report)}
          </div>
          <div id="run" class="card">
            <h2>Run and environment</h2>
            ${runTable(report)}
          </div>
        </div>
      </section>
    </main>
    <footer class="wrap page-footer">report.json schema version ${report.schema_version} · written by gibbon ${report.gibbon_version}</footer>`;
  return htmlPage({ title, gibbonVersion: report.gibbon_version, dataImages: true }, body).value;
}

/** Renders `report` to `dir/report.html` (creating `dir`) and returns the file's path. */
export function writeReportHtml(dir: string, report: Report): string {
  const path = join(dir, REPORT_HTML_FILE);
  writeFileAtomically(path, renderReportHtml(report));
  return path;
}

function subtitle(report: Report, normLabel: string): SafeHtml {
  const knowledge = threatModelString(report.threat_model, 'knowledge') ?? threatModelString(report.threat_model, 'attacker');
  const targeted = report.threat_model['targeted'];
  const parts = [
    knowledge,
    normLabel !== 'norm' ? normLabel : undefined,
    typeof targeted === 'boolean' ? (targeted ? 'targeted' : 'untargeted') : undefined,
    `${formatCount(report.n)} examples of ${report.data}`,
    `finished ${formatCreated(report.created)}`,
  ].filter((p): p is string => p !== undefined);
  return html`${parts.join(' · ')}`;
}

function summaryCards(report: Report, failed: MaskingCheck[]): SafeHtml {
  const points = [...report.robust_accuracy].sort((a, b) => a.eps - b.eps);
  const largest = points[points.length - 1];
  const attackNames = new Set(report.attacks.map((a) => a.name));
  const checks = report.masking_checks.length;
  return html`<section class="summary">
    <div class="stat">
      <p class="stat-label">Clean accuracy</p>
      <p class="stat-value">${formatPercent(report.clean_accuracy)}</p>
      <p class="stat-note">${formatCount(report.n)} examples</p>
    </div>
    <div class="stat stat-accent">
      <p class="stat-label">Robust accuracy${largest ? html` at ε = ${formatEps(largest.eps)}` : ''}</p>
      <p class="stat-value">${largest ? formatPercent(largest.accuracy) : '—'}</p>
      <p class="stat-note">worst case over ${attackNames.size} attack${attackNames.size === 1 ? '' : 's'}</p>
    </div>
    <div class="stat ${failed.length > 0 ? 'stat-bad' : 'stat-good'}">
      <p class="stat-label">Masking checks</p>
      <p class="stat-value">${failed.length > 0 ? `${failed.length} failed` : checks > 0 ? 'passed' : '—'}</p>
      <p class="stat-note">${checks > 0 ? `${checks - failed.length} of ${checks} passed` : 'none run'}</p>
    </div>
    <div class="stat">
      <p class="stat-label">Run time</p>
      <p class="stat-value">${formatSeconds(report.seconds)}</p>
      <p class="stat-note">seed ${report.seed}</p>
    </div>
  </section>`;
}

function maskingAlert(failed: MaskingCheck[]): SafeHtml {
  return html`<section id="masking-alert" class="alert alert-bad" role="alert">
    <h2>Gradient masking suspected: these numbers may overstate robustness</h2>
    <ul>
      ${failed.map((c) => html`<li><strong>${humanise(c.name)}</strong> — ${c.detail}${c.advice ? html`<br /><span class="advice">Try: ${c.advice}</span>` : ''}</li>`)}
    </ul>
  </section>`;
}

function warningsBox(warnings: Report['warnings']): SafeHtml {
  return html`<section id="warnings" class="alert alert-warn">
    <h2>Warnings</h2>
    <ul>
      ${warnings.map((w) => html`<li><code>${w.code}</code> ${w.message}</li>`)}
    </ul>
  </section>`;
}

function accuracyTable(report: Report): SafeHtml {
  const points = [...report.robust_accuracy].sort((a, b) => a.eps - b.eps);
  const strongest = (eps: number): string => {
    const atEps = report.attacks.filter((a) => a.eps === eps);
    if (atEps.length === 0) return '—';
    const best = Math.min(...atEps.map((a) => a.accuracy));
    return atEps
      .filter((a) => a.accuracy === best)
      .map((a) => a.name)
      .join(', ');
  };
  return html`<table class="data" id="accuracy-table">
    <thead>
      <tr>
        <th>ε</th>
        <th class="num">accuracy</th>
        <th class="num">change</th>
        <th>lowest after</th>
      </tr>
    </thead>
    <tbody>
      <tr class="clean-row">
        <td>0 (clean)</td>
        <td class="num">${formatPercent(report.clean_accuracy)}</td>
        <td class="num">—</td>
        <td>—</td>
      </tr>
      ${points.map(
        (p) =>
          html`<tr data-eps="${p.eps}">
            <td>${formatEps(p.eps)}</td>
            <td class="num"><span class="bar" style="--value:${(p.accuracy * 100).toFixed(1)}%"></span>${formatPercent(p.accuracy)}</td>
            <td class="num">${signedPoints(p.accuracy - report.clean_accuracy)}</td>
            <td>${strongest(p.eps)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function attacksTable(attacks: AttackRecord[], normLabel: string): SafeHtml {
  if (attacks.length === 0) return html`<p class="empty">No attacks were run.</p>`;
  return html`<table class="data" id="attacks-table">
      <thead>
        <tr>
          <th>attack</th>
          <th class="num">ε</th>
          <th class="num">robust accuracy</th>
          <th class="num">mean ‖δ‖ (${normLabel})</th>
          <th class="num">queries</th>
          <th class="num">steps</th>
          <th class="num">time</th>
        </tr>
      </thead>
      <tbody>
        ${attacks.map(
          (a, i) =>
            html`<tr${i > 0 && attacks[i - 1]!.name !== a.name ? trustedHtml(' class="group-start"') : ''}><td><code>${a.name}</code></td><td class="num">${formatEps(a.eps)}</td><td class="num">${formatPercent(a.accuracy)}</td><td class="num">${a.mean_norm === null ? '—' : formatNumber(a.mean_norm)}</td><td class="num">${formatCount(a.queries)}</td><td class="num">${formatCount(a.steps)}</td><td class="num">${formatSeconds(a.seconds)}</td></tr>`,
        )}
      </tbody>
    </table>
    <p class="note">
      Robust accuracy on all examples after each ensemble stage (cumulative; check runs alone); mean ‖δ‖ over the examples it fooled; queries count examples ×
      model evaluations.
    </p>`;
}

/** Success rate versus queries of the query-based black-box attacks (absent when none ran). */
function querySection(report: Report): SafeHtml {
  if (!hasQueryCurves(report)) return html``;
  return html`<section id="queries" class="card chart-card">
    <h2 id="query-chart-title">Black-box attacks: success rate versus queries</h2>
    <figure id="query-chart" class="chart">${trustedHtml(renderQueryChart(report))}</figure>
    <p class="note">
      Share of the examples each score- or decision-based attack was given that it broke within q queries per example (log scale); the right end is its success
      rate within its budget.
    </p>
  </section>`;
}

function checksTable(checks: MaskingCheck[]): SafeHtml {
  if (checks.length === 0) return html`<p class="empty">No checks were run.</p>`;
  const ordered = [...checks.filter((c) => !c.passed), ...checks.filter((c) => c.passed)];
  return html`<table class="data checks" id="checks-table">
    <thead>
      <tr>
        <th>result</th>
        <th>check</th>
        <th>what was measured</th>
      </tr>
    </thead>
    <tbody>
      ${ordered.map(
        (c) =>
          html`<tr class="${c.passed ? 'check-passed' : 'check-failed'}" data-check="${c.name}">
            <td><span class="badge ${c.passed ? 'badge-good' : 'badge-bad'}">${c.passed ? '✓ passed' : '✗ failed'}</span></td>
            <td><strong>${humanise(c.name)}</strong><br /><code class="id">${c.name}</code></td>
            <td>${c.detail}${c.advice && !c.passed ? html`<p class="advice">Try: ${c.advice}</p>` : ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** A string field of the threat model, at the top level or one level down (e.g. perturbation.norm). */
function threatModelString(threatModel: Record<string, unknown>, key: string): string | undefined {
  const top = threatModel[key];
  if (typeof top === 'string') return top;
  for (const value of Object.values(threatModel)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const nested = (value as Record<string, unknown>)[key];
      if (typeof nested === 'string') return nested;
    }
  }
  return undefined;
}

function baseName(path: string): string {
  return (
    path
      .split(/[\\/]/)
      .filter((p) => p.length > 0)
      .pop() ?? path
  );
}
