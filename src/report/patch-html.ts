/**
 * The report of a physical attack (`gibbon patch` / `gibbon uap`): report.json (the data below,
 * format 'gibbon-physical-report') and report.html, one self-contained page like the others: the
 * patch or UAP itself, inputs with it applied, success under each measured condition (held-out
 * transforms, print-and-scan, other models), success against patch area and against rotation,
 * per true class, and for a UAP the fooling rate against ε on each model. A pure function.
 */
import { stat } from './certification-html.js';
import { fractionAxis, renderSvgChart, xAxis } from './chart.js';
import { formatNumber, formatPercent } from './format.js';
import { encodePixels, upscaleFactor } from './images.js';
import { htmlPage } from './page.js';
import { html, trustedHtml, type SafeHtml } from './safe-html.js';

export const PHYSICAL_REPORT_FORMAT = 'gibbon-physical-report';

export interface Condition {
  /** What was measured: 'held-out transforms', 'print-and-scan', 'mnist-robust.onnx' … */
  readonly label: string;
  readonly rate: number;
  readonly eligible: number;
  readonly successes: number;
  /** Mean fraction of the image covered (patches). */
  readonly coverage?: number;
  /** Accuracy on all the inputs measured, without and with the perturbation. */
  readonly cleanAccuracy?: number;
  readonly accuracy?: number;
}

export interface PhysicalReport {
  readonly format: typeof PHYSICAL_REPORT_FORMAT;
  readonly version: 1;
  readonly kind: 'patch' | 'uap';
  readonly gibbonVersion: string;
  readonly model: string;
  readonly data: string;
  readonly seed: number;
  readonly saved: string;
  readonly target: number | null;
  /** 'targeted success' or 'fooling rate' or 'untargeted success'. */
  readonly measure: string;
  /** The patch (C, h, w) or δ (C, H, W), and the shape mask (h · w) of a patch. */
  readonly values: { readonly shape: readonly number[]; readonly data: readonly number[]; readonly mask?: readonly number[]; readonly eps?: number };
  readonly conditions: readonly Condition[];
  readonly scaleSweep?: readonly { readonly scale: number; readonly coverage: number; readonly rate: number }[];
  readonly rotationSweep?: readonly { readonly rotation: number; readonly rate: number }[];
  readonly epsSweep?: readonly { readonly eps: number; readonly rates: Readonly<Record<string, number>> }[];
  readonly perClass: readonly { readonly label: number; readonly eligible: number; readonly successes: number }[];
  readonly examples: {
    readonly shape: readonly number[];
    readonly images: readonly (readonly number[])[];
    readonly labels: readonly number[];
    readonly predicted: readonly number[];
  };
  readonly transforms: Readonly<Record<string, unknown>>;
  readonly training?: Readonly<Record<string, unknown>>;
  /** One patch per target class (a threat model naming several saved patches): success of each on the evaluated model. */
  readonly perTarget?: readonly {
    readonly target: number | null;
    readonly saved: string;
    readonly rate: number;
    readonly eligible: number;
    readonly successes: number;
  }[];
  /** How the patch is placed: 'random', or 'best of a R × C grid of centres' (the attacker's choice per input). */
  readonly placement?: string;
  /** The physical threat model the run came from, and the SHA-256 of each saved perturbation it pins. */
  readonly threatModel?: { readonly path: string; readonly name?: string; readonly pinned: readonly { readonly manifest: string; readonly sha256: string }[] };
}

function pngUri(values: readonly number[], shape: readonly number[], alpha?: readonly number[]): string {
  const [channels, height, width] = shape.length === 3 ? (shape as [number, number, number]) : [1, 1, shape.at(-1)!];
  const plane = height * width;
  const out = new Uint8Array(plane * (channels === 1 ? 1 : 3));
  for (let k = 0; k < plane; k++) {
    for (let c = 0; c < (channels === 1 ? 1 : 3); c++) {
      const v = values[Math.min(c, channels - 1) * plane + k]!;
      // Outside the patch's shape the page shows a light checker grey.
      const a = alpha ? alpha[k]! : 1;
      out[k * (channels === 1 ? 1 : 3) + c] = Math.round(255 * (a * Math.min(1, Math.max(0, v)) + (1 - a) * 0.85));
    }
  }
  const png = encodePixels(out, channels === 1 ? 1 : 3, height, width, upscaleFactor(height, width));
  let binary = '';
  for (let i = 0; i < png.length; i += 0x8000) binary += String.fromCharCode(...png.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(binary)}`;
}

function lineChart(id: string, title: string, xName: string, series: { name: string; points: [number, number][] }[]): SafeHtml {
  const option = {
    title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
    legend: series.length > 1 ? { bottom: 0 } : undefined,
    xAxis: xAxis(xName, { type: 'value', scale: true }),
    yAxis: fractionAxis('success'),
    series: series.map((s) => ({ type: 'line', name: s.name, data: s.points, symbolSize: 7 })),
  };
  return html`<figure class="chart">${trustedHtml(renderSvgChart(option, `${id}-title`, id))}</figure>`;
}

function conditionRows(report: PhysicalReport): SafeHtml[] {
  return report.conditions.map(
    (c) =>
      html`<tr>
        <td>${c.label}</td>
        <td class="num">${formatPercent(c.rate)}</td>
        <td class="num">${c.successes}/${c.eligible}</td>
        <td class="num">${c.coverage === undefined ? '–' : formatPercent(c.coverage)}</td>
        <td class="num">${c.cleanAccuracy === undefined ? '–' : formatPercent(c.cleanAccuracy)}</td>
        <td class="num">${c.accuracy === undefined ? '–' : formatPercent(c.accuracy)}</td>
      </tr>`,
  );
}

function perTargetTable(report: PhysicalReport): SafeHtml {
  return html`<section class="card">
    <h2>Per target class (one patch each)</h2>
    <table class="data">
      <thead>
        <tr>
          <th>target</th>
          <th class="num">${report.measure}</th>
          <th class="num">inputs</th>
          <th>saved patch</th>
        </tr>
      </thead>
      <tbody>
        ${report.perTarget!.map(
          (t) =>
            html`<tr>
              <td>${t.target ?? 'untargeted'}</td>
              <td class="num">${formatPercent(t.rate)}</td>
              <td class="num">${t.successes}/${t.eligible}</td>
              <td>${t.saved}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

export function renderPhysicalHtml(report: PhysicalReport): string {
  const head = report.conditions[0];
  const patchUri = report.kind === 'uap' && report.values.eps ? report.values.data.map((v) => (v / report.values.eps! + 1) / 2) : report.values.data;
  const what =
    report.kind === 'patch' && report.perTarget
      ? `${report.perTarget.length} patches, one per target class`
      : report.kind === 'patch'
        ? report.target === null
          ? 'untargeted patch'
          : `patch → class ${report.target}`
        : `universal perturbation, ε = ${formatNumber(report.values.eps ?? 0)}`;
  const charts: SafeHtml[] = [];
  if (report.scaleSweep?.length)
    charts.push(
      lineChart('area', `${report.measure} against patch area`, 'fraction of the image covered', [
        { name: report.model, points: report.scaleSweep.map((p) => [p.coverage, p.rate]) },
      ]),
    );
  if (report.rotationSweep?.length)
    charts.push(
      lineChart('rotation', `${report.measure} against rotation`, 'largest |rotation| (degrees)', [
        { name: report.model, points: report.rotationSweep.map((p) => [p.rotation, p.rate]) },
      ]),
    );
  if (report.perTarget?.length)
    charts.push(
      lineChart('per-target', `${report.measure} per target class`, 'target class', [
        { name: report.model, points: report.perTarget.filter((t) => t.target !== null).map((t) => [t.target!, t.rate]) },
      ]),
    );
  if (report.epsSweep?.length) {
    const models = Object.keys(report.epsSweep[0]!.rates);
    charts.push(
      lineChart(
        'eps',
        'fooling rate against ε',
        'ε',
        models.map((m) => ({ name: m, points: report.epsSweep!.map((p) => [p.eps, p.rates[m] ?? 0]) })),
      ),
    );
  }
  const ex = report.examples;
  const body = html`<header class="page-header">
      <div class="wrap">
        <p class="brand">gibbon · physical attack</p>
        <h1>${what}</h1>
        <p class="subtitle">
          ${report.model} · ${report.data} · seed
          ${report.seed}${report.placement ? ` · placement: ${report.placement}` : ''}${report.threatModel ? ` · threat model ${report.threatModel.name ?? report.threatModel.path}` : ''}
        </p>
      </div>
    </header>
    <main class="wrap">
      <section class="summary">
        ${head ? stat(`${report.measure}: ${head.label}`, formatPercent(head.rate), `${head.successes} of ${head.eligible} held-out inputs`) : ''}
        ${report.conditions.slice(1, 3).map((c) => stat(c.label, formatPercent(c.rate), `${c.successes} of ${c.eligible}`))}
        ${head?.coverage !== undefined ? stat('mean area covered', formatPercent(head.coverage), 'of the image, as placed') : ''}
      </section>
      <section>
        <div class="card">
          <h2>The ${report.kind === 'patch' ? 'patch' : 'perturbation'}${report.perTarget ? ` (the first of ${report.perTarget.length})` : ''}</h2>
          <img alt="the ${report.kind}" src="${patchUri.length ? pngUri(patchUri, report.values.shape, report.values.mask) : ''}" />
          <p class="note">Saved as ${report.saved} (exact values in the .npy beside it; 16-bit PNG for printing).</p>
        </div>
        <div class="card">
          <h2>Conditions</h2>
          <table class="data">
            <thead>
              <tr>
                <th>measured on</th>
                <th class="num">${report.measure}</th>
                <th class="num">inputs</th>
                <th class="num">area</th>
                <th class="num">accuracy, clean</th>
                <th class="num">accuracy, with it</th>
              </tr>
            </thead>
            <tbody>
              ${conditionRows(report)}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card">
        <h2>Inputs with the ${report.kind} applied</h2>
        <p>
          ${ex.images.map((img, i) => html`<img alt="input ${i}: class ${ex.labels[i]} read as ${ex.predicted[i]}" title="true ${ex.labels[i]} → ${ex.predicted[i]}" src="${pngUri(img, ex.shape)}" /> `)}
        </p>
        <p class="note">${ex.labels.map((l, i) => `${l}→${ex.predicted[i]}`).join(' · ')}</p>
      </section>
      <section class="charts grid-2 even">${charts.map((c) => html`<div class="card">${c}</div>`)}</section>
      ${report.perTarget?.length ? perTargetTable(report) : ''}
      <section class="card">
        <h2>Per true class</h2>
        <table class="data">
          <thead>
            <tr>
              <th>class</th>
              <th class="num">${report.measure}</th>
              <th class="num">inputs</th>
            </tr>
          </thead>
          <tbody>
            ${report.perClass.map(
              (c) =>
                html`<tr>
                  <td>${c.label}</td>
                  <td class="num">${formatPercent(c.eligible ? c.successes / c.eligible : 0)}</td>
                  <td class="num">${c.eligible}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>
    </main>`;
  return htmlPage({ title: `gibbon ${report.kind}: ${what}`, gibbonVersion: report.gibbonVersion, dataImages: true }, body).value;
}
