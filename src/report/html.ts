/**
 * report.html: one self-contained page that works offline. Styles are inline, images are PNG
 * data: URIs, the chart is static SVG, and there is no script at all; a Content-Security-Policy
 * forbids the page from fetching anything, so a stray external reference would fail loudly in a
 * browser rather than leak. Every piece of text from the report goes through the escaping `html`
 * template.
 */
import { join } from 'node:path';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { hasQueryCurves, renderQueryChart, renderRobustnessChart, FONT_FAMILY } from './chart.js';
import { formatCount, formatEps, formatNormName, formatNumber, formatPercent, formatSeconds } from './format.js';
import { galleryImages } from './images.js';
import { htmlPage } from './page.js';
import { parseReport } from './parse.js';
import { html, trustedHtml, type SafeHtml } from './safe-html.js';
import type { AttackRecord, GalleryItem, MaskingCheck, Report } from './schema.js';

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
  return htmlPage({ title, styles: STYLES, gibbonVersion: report.gibbon_version, dataImages: true }, body).value;
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

function gallerySection(report: Report, normLabel: string): SafeHtml {
  if (report.gallery.length === 0) return html``;
  const bounds = report.bounds ?? [0, 1];
  const cards = report.gallery.map((item) => exampleCard(item, report, bounds, normLabel));
  return html`<section id="gallery" class="card">
    <h2>Adversarial examples</h2>
    <p class="lead">
      Each example: the clean input, the attack's adversarial input inside the ε-ball, and their difference amplified so that the largest change uses the full
      range${report.gallery.some((g) => g.shape[0] === 1) ? ' (red: brighter, blue: darker, white: unchanged)' : ' (grey: unchanged)'}. Labels show the
      predicted class and its confidence.
    </p>
    <div class="gallery">${cards}</div>
  </section>`;
}

function exampleCard(item: GalleryItem, report: Report, bounds: readonly [number, number], normLabel: string): SafeHtml {
  const images = galleryImages(item, bounds);
  const name = (k: number): string => report.class_names?.[k] ?? String(k);
  const fooled = item.adversarial_prediction !== item.label;
  const change = perturbationSize(item, normLabel);
  const image = (src: string, alt: string): SafeHtml => html`<img src="${src}" width="${images.width}" height="${images.height}" alt="${alt}" />`;
  return html`<figure class="example ${fooled ? 'example-fooled' : 'example-held'}" style="--image-width:${images.width}px">
    <figcaption class="example-head">
      <span>#${item.index} · true class <strong>${name(item.label)}</strong></span
      ><span class="badge ${fooled ? 'badge-bad' : 'badge-good'}">${fooled ? `${name(item.label)} → ${name(item.adversarial_prediction)}` : 'held'}</span>
    </figcaption>
    <div class="triptych">
      <div class="panel">
        ${image(images.clean, `clean input, true class ${name(item.label)}`)}<span class="panel-title">clean</span
        ><span class="prediction ${item.clean_prediction === item.label ? '' : 'wrong'}"
          >${name(item.clean_prediction)} · ${formatPercent(item.clean_confidence)}</span
        >
      </div>
      <div class="panel">
        ${image(images.adversarial, `adversarial input, predicted ${name(item.adversarial_prediction)}`)}<span class="panel-title">adversarial</span
        ><span class="prediction ${fooled ? 'wrong' : ''}">${name(item.adversarial_prediction)} · ${formatPercent(item.adversarial_confidence)}</span>
      </div>
      <div class="panel">
        ${image(images.difference, 'amplified difference')}<span class="panel-title">difference ×${formatNumber(images.amplification, 2)}</span
        ><span class="prediction muted">${change}</span>
      </div>
    </div>
    <p class="example-foot"><code>${item.attack}</code> · ε = ${formatEps(item.eps)}</p>
  </figure>`;
}

function perturbationSize(item: GalleryItem, normLabel: string): string {
  let linf = 0;
  let squares = 0;
  for (let i = 0; i < item.clean.length; i++) {
    const d = item.adversarial[i]! - item.clean[i]!;
    linf = Math.max(linf, Math.abs(d));
    squares += d * d;
  }
  return normLabel === 'L2' ? `‖δ‖₂ = ${formatNumber(Math.sqrt(squares))}` : `‖δ‖∞ = ${formatNumber(linf)}`;
}

function threatModelTable(threatModel: Record<string, unknown>): SafeHtml {
  const rows = flatten(threatModel, []);
  if (rows.length === 0) return html`<p class="empty">The report holds no threat model.</p>`;
  return html`<table class="kv" id="threat-model-table">
    <tbody>
      ${rows.map(
        ([path, value]) =>
          html`<tr>
            <th title="${path.join('.')}">${path.map(humanise).join(' › ')}</th>
            <td>${value}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function flatten(value: Record<string, unknown>, prefix: string[]): [string[], SafeHtml][] {
  return Object.entries(value).flatMap(([key, v]): [string[], SafeHtml][] => {
    const path = [...prefix, key];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) return flatten(v as Record<string, unknown>, path);
    return [[path, describeValue(v)]];
  });
}

function describeValue(value: unknown): SafeHtml {
  if (value === null || value === undefined) return html`<span class="muted">none</span>`;
  if (typeof value === 'boolean') return html`${value ? 'yes' : 'no'}`;
  if (typeof value === 'number') return html`${String(value)}`;
  if (typeof value === 'string') return html`${value}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<span class="muted">none</span>`;
    if (value.every((v) => v === null || typeof v !== 'object')) return html`${value.map((v) => String(v)).join(', ')}`;
    return html`${value.map((v) => html`<code class="block">${JSON.stringify(v)}</code>`)}`;
  }
  return html`<code>${JSON.stringify(value)}</code>`;
}

function modelTable(report: Report): SafeHtml {
  const m = report.model;
  const rows: [string, SafeHtml][] = [
    ['path', html`<code>${m.path}</code>`],
    ['sha256', html`<code class="hash">${m.sha256}</code>`],
    ['input shape', html`${m.input_shape.map((d) => (d === null ? 'N' : String(d))).join(' × ')}`],
    [
      'classes',
      html`${m.num_classes}${report.class_names ? html` <span class="muted">(${report.class_names.slice(0, 4).join(', ')}${report.class_names.length > 4 ? ' …' : ''})</span>` : ''}`,
    ],
    ['output', html`${m.outputs_probabilities ? 'probabilities (final Softmax; gradients use the logits before it)' : 'logits'}`],
    [
      'non-differentiable ops',
      m.non_differentiable_ops.length === 0
        ? html`<span class="muted">none on the gradient path</span>`
        : html`<span class="warn-text">${m.non_differentiable_ops.map((o) => `${o.node} (${o.op_type})`).join(', ')}</span>`,
    ],
  ];
  return keyValueTable(rows, 'model-table');
}

function runTable(report: Report): SafeHtml {
  const e = report.environment;
  const rows: [string, SafeHtml][] = [
    ['finished', html`${formatCreated(report.created)}`],
    ['run time', html`${formatSeconds(report.seconds)}`],
    ['data', html`${report.data} · ${formatCount(report.n)} examples`],
    ['seed', html`${report.seed}`],
    ['gibbon', html`${report.gibbon_version}`],
    ['Node.js', html`${e.node}`],
    ['onnxruntime', html`${e.onnxruntime}`],
    ['platform', html`${e.platform} · ${e.cpus} CPUs · ${e.threads} thread${e.threads === 1 ? '' : 's'}`],
  ];
  return keyValueTable(rows, 'run-table');
}

function keyValueTable(rows: [string, SafeHtml][], id: string): SafeHtml {
  return html`<table class="kv" id="${id}">
    <tbody>
      ${rows.map(
        ([k, v]) =>
          html`<tr>
            <th>${k}</th>
            <td>${v}</td>
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

const LABELS: Record<string, string> = { eps: 'ε', epsilon: 'ε', epsilons: 'ε', n: 'n' };

/** 'iterative-weaker-than-single-step' → 'Iterative weaker than single step'; 'eps' → 'ε'. */
function humanise(id: string): string {
  if (LABELS[id] !== undefined) return LABELS[id];
  const words = id.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function signedPoints(difference: number): string {
  const points = difference * 100;
  return `${points > 0 ? '+' : points < 0 ? '−' : '±'}${Math.abs(points).toFixed(1)} pt`;
}

/** ISO time as 'YYYY-MM-DD HH:MM UTC' (the report's own text when it is not a valid time). */
function formatCreated(created: string): string {
  const time = new Date(created);
  if (Number.isNaN(time.getTime())) return created;
  return `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const STYLES = `
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0b57d0; --bad: #cf222e; --bad-soft: #ffebe9; --good: #1a7f37; --good-soft: #dafbe1; --warn: #9a6700; --warn-soft: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; font-family: ${FONT_FAMILY}; font-size: 14px; line-height: 1.5; color: var(--ink); background: var(--soft); }
.wrap { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
.page-header { background: #0d1b2a; color: #fff; padding: 22px 0 20px; margin-bottom: 20px; }
.brand { margin: 0; font-size: 12px; letter-spacing: .08em; text-transform: uppercase; color: #9fb3c8; }
h1 { margin: 2px 0 4px; font-size: 26px; font-weight: 650; word-break: break-all; }
.subtitle { margin: 0; color: #c9d6e3; }
h2 { font-size: 16px; margin: 0 0 12px; font-weight: 650; }
section { margin-bottom: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 16px; }
.grid-2 { display: grid; grid-template-columns: minmax(0, 1.35fr) minmax(0, 1fr); gap: 16px; align-items: start; }
.grid-2.even { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.grid-2.stretch { align-items: stretch; }
.grid-2.stretch > .card { display: flex; flex-direction: column; }
.grid-2.stretch > .card > .note { margin-top: auto; padding-top: 10px; }
.grid-2 > .card, .grid-2 > div > .card { margin-bottom: 0; }
.grid-2 > div > .card + .card { margin-top: 16px; }
@media (max-width: 900px) { .grid-2, .grid-2.even { grid-template-columns: 1fr; } }
.summary { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 16px; }
@media (max-width: 900px) { .summary { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.stat { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; border-top: 4px solid var(--line); }
.stat-accent { border-top-color: var(--accent); }
.stat-good { border-top-color: var(--good); }
.stat-bad { border-top-color: var(--bad); background: var(--bad-soft); }
.stat p { margin: 0; }
.stat-label { color: var(--muted); font-size: 13px; }
.stat-value { font-size: 28px; font-weight: 700; font-variant-numeric: tabular-nums; letter-spacing: -.01em; }
.stat-accent .stat-value { color: var(--accent); }
.stat-bad .stat-value { color: var(--bad); }
.stat-good .stat-value { color: var(--good); }
.stat-note { color: var(--muted); font-size: 12px; }
.alert { border-radius: 10px; padding: 14px 20px; border: 1px solid; }
.alert h2 { margin-bottom: 6px; }
.alert ul { margin: 0; padding-left: 20px; }
.alert li + li { margin-top: 6px; }
.alert-bad { background: var(--bad-soft); border-color: #ff8182; border-left: 6px solid var(--bad); }
.alert-bad h2 { color: var(--bad); }
.alert-warn { background: var(--warn-soft); border-color: #d4a72c; border-left: 6px solid #bf8700; }
.advice { color: var(--ink); font-style: italic; margin: 4px 0 0; }
.chart { margin: 0; }
.chart svg { display: block; width: 100%; height: auto; }
.note { color: var(--muted); font-size: 12.5px; margin: 8px 0 0; }
.lead { color: var(--muted); font-size: 12.5px; margin: -6px 0 12px; }
.chart-card .note { margin-top: 4px; }
table { border-collapse: collapse; width: 100%; }
table.data th, table.data td { padding: 8px 10px; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
table.data thead th { font-size: 12px; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); white-space: nowrap; }
table.data tbody tr:last-child td { border-bottom: none; }
table.data tr.group-start td { border-top: 1px solid var(--line); }
.num { text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap; }
.clean-row td { color: var(--muted); }
.bar { display: inline-block; vertical-align: middle; width: 60px; height: 8px; margin-right: 8px; border-radius: 4px; background: linear-gradient(90deg, var(--accent) var(--value), #e6ebf1 var(--value)); }
table.kv th, table.kv td { padding: 6px 10px 6px 0; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
table.kv tr:last-child th, table.kv tr:last-child td { border-bottom: none; }
table.kv th { width: 36%; color: var(--muted); font-weight: 500; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace; font-size: 12.5px; }
code.block { display: block; white-space: pre-wrap; word-break: break-word; }
code.hash { word-break: break-all; }
code.id { color: var(--muted); font-size: 11.5px; }
.muted { color: var(--muted); }
.warn-text { color: var(--warn); }
.empty { color: var(--muted); margin: 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge-good { background: var(--good-soft); color: var(--good); }
.badge-bad { background: var(--bad-soft); color: var(--bad); }
tr.check-failed td { background: #fff5f5; }
tr.check-failed td:first-child { box-shadow: inset 4px 0 var(--bad); }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 360px), 1fr)); gap: 12px; }
.example { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: #fff; }
.example-fooled { border-left: 4px solid var(--bad); }
.example-held { border-left: 4px solid var(--good); }
.example-head { display: flex; justify-content: space-between; align-items: center; gap: 8px; margin-bottom: 8px; font-size: 13px; }
.triptych { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px; justify-items: center; }
.panel { display: flex; flex-direction: column; align-items: center; min-width: 0; }
.panel img { width: 100%; max-width: var(--image-width); height: auto; image-rendering: pixelated; border: 1px solid #d8dee4; border-radius: 3px; background: #000; }
.panel-title { font-size: 11.5px; color: var(--muted); margin-top: 4px; text-transform: uppercase; letter-spacing: .04em; }
.prediction { font-size: 13px; font-weight: 600; font-variant-numeric: tabular-nums; }
.prediction.wrong { color: var(--bad); }
.prediction.muted { font-weight: 400; color: var(--muted); font-size: 12px; }
.example-foot { margin: 6px 0 0; font-size: 12px; color: var(--muted); }
.page-footer { color: var(--muted); font-size: 12px; padding-bottom: 28px; }
@media print { body { background: #fff; } .card, .stat { break-inside: avoid; } }
`;
