/**
 * The detection report (gibbon detect eval) as one self-contained HTML page: no script, inline
 * styles, ROC curves as static SVG from ECharts' server-side renderer, and a
 * Content-Security-Policy that forbids fetching anything. It opens with the threat model, because
 * a detection rate means nothing without saying who the attacker is and what they know. A pure
 * function of the report; all report text goes through the escaping `html` template.
 */
import type { DetectionReport, DetectionRow } from '../defenses/detectors/evaluate-detector.js';
import { fractionAxis, renderSvgChart } from './chart.js';
import { formatPercent } from './format.js';
import { htmlPage } from './page.js';
import { html, trustedHtml, type SafeHtml } from './safe-html.js';

const COLOURS = ['#0b57d0', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2'];

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : formatPercent(v));
const num = (v: number | null): string => (v === null ? '–' : v.toFixed(3));

function rocChart(rows: readonly DetectionRow[], titleId: string, prefix: string): string {
  const drawn = rows.filter((r) => r.roc.length > 0);
  const series = drawn.map((r, i) => ({
    type: 'line',
    name: `${r.name} (AUROC ${num(r.auroc)})`,
    data: r.roc.map((p) => [p[0], p[1]]),
    color: COLOURS[i % COLOURS.length],
    lineStyle: { width: r.kind === 'adaptive' ? 3 : 2, type: r.kind === 'plain' ? 'dashed' : 'solid' },
    showSymbol: false,
  }));
  return renderSvgChart(
    {
      legend: { top: 8, left: 'center', itemWidth: 22, itemGap: 18, textStyle: { fontSize: 11, color: '#1f2328' }, data: series.map((s) => s.name) },
      grid: { left: 56, right: 28, top: 62, bottom: 50 },
      xAxis: fractionAxis('false-positive rate (clean inputs flagged)', 30),
      yAxis: fractionAxis('true-positive rate'),
      series: [
        ...series,
        {
          type: 'line',
          name: 'chance',
          data: [
            [0, 0],
            [1, 1],
          ],
          color: '#8c959f',
          lineStyle: { width: 1, type: 'dotted' },
          showSymbol: false,
          silent: true,
        },
      ],
    },
    titleId,
    prefix,
  );
}

function resultsTable(rows: readonly DetectionRow[]): SafeHtml {
  return html`<table class="data">
    <thead>
      <tr>
        <th>inputs to flag</th>
        <th class="num">positives</th>
        <th class="num">AUROC</th>
        <th class="num">TPR at 5% FPR</th>
        <th class="num">TPR at τ</th>
        <th class="num">FPR at τ</th>
        <th class="num">misclassified</th>
        <th class="num">undetected success</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (r) =>
          html`<tr class="${r.kind}">
            <td>${r.name}</td>
            <td class="num">${r.positives}</td>
            <td class="num">${num(r.auroc)}</td>
            <td class="num">${pct(r.tpr_at_5_fpr)}</td>
            <td class="num">${pct(r.tpr_at_threshold)}</td>
            <td class="num">${pct(r.fpr_at_threshold)}</td>
            <td class="num">${r.attacked !== undefined ? pct(r.misclassified_rate) : ''}</td>
            <td class="num">${r.attacked !== undefined ? html`<strong>${pct(r.undetected_success_rate)}</strong>` : ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function threatModel(report: DetectionReport): SafeHtml {
  const a = report.adaptive;
  return html`<section id="threat-model" class="card">
    <h2>Threat model</h2>
    <dl>
      <dt>What is defended</dt>
      <dd>
        The classifier together with the detector: an input is rejected when its score is above the threshold τ = ${report.detector.threshold.toPrecision(6)},
        set to flag ${pct(report.detector.target_fpr)} of clean held-out training inputs.
      </dd>
      <dt>Out-of-distribution inputs</dt>
      <dd>No attacker: inputs from another dataset (and uniform noise) that the classifier was never trained on. Should be flagged.</dd>
      <dt>Plain attacker</dt>
      <dd>
        White box on the classifier only, unaware of the detector: FGSM and PGD (40 steps) with L∞ budget ε = ${report.eps}, inputs in [0, 1]. A detector that
        stops this attacker has only been tested against an attacker who ignores it.
      </dd>
      <dt>Adaptive attacker</dt>
      <dd>
        ${
          a
            ? html`White box on classifier <em>and</em> detector: knows the weights, the detector's parameters and τ (Carlini &amp; Wagner 2017). PGD,
                ${a.steps} steps of ${a.step_size.toPrecision(3)} with a random start, on min(margin, ${a.kappa}) − λ·max(0, (s − τ)/σ + ${a.delta}) for λ ∈
                {${a.lambdas.join(', ')}}, through the exact gradient of the detector-equipped ONNX graph (BPDA with the identity at
                Round)${a.search_queries > 0 ? html`; then, against a 1-bit/quantised squeezer, a greedy search over the reachable quantised values (${a.search_queries} forward passes) and PGD again with those values fixed` : ''}.
                Succeeds when the input is misclassified <em>and</em> not flagged. This is the number that says how much the detector protects.`
            : 'not run (--plain-only): the numbers below say nothing about an attacker who knows the detector.'
        }
      </dd>
    </dl>
  </section>`;
}

export function renderDetectionHtml(report: DetectionReport): string {
  const ood = report.rows.filter((r) => r.kind === 'ood');
  const attacks = report.rows.filter((r) => r.kind !== 'ood');
  const plain = attacks.filter((r) => r.kind === 'plain' && r.name.startsWith('PGD')).at(-1);
  const adaptive = attacks.find((r) => r.kind === 'adaptive');
  const c = report.detector.calibration;
  const body = html`<header class="page-header">
      <div class="wrap">
        <p class="brand">gibbon · detection report</p>
        <h1>${report.detector.description}</h1>
        <p class="subtitle">
          on ${report.model.path} (sha256 ${report.model.sha256.slice(0, 12)}…) · ${report.data.n} clean ${report.data.in_distribution} inputs · seed
          ${report.seed}
        </p>
      </div>
    </header>
    <main class="wrap">
      ${threatModel(report)}
      ${
        plain && adaptive
          ? html`<section id="verdict" class="card verdict">
              <h2>Plain versus adaptive PGD, ε = ${report.eps}</h2>
              <p>
                Against PGD that ignores the detector, AUROC ${num(plain.auroc)} and ${pct(plain.undetected_success_rate)} of the attacked inputs are
                misclassified without being flagged. Against the adaptive attack, AUROC ${num(adaptive.auroc)} and
                <strong>${pct(adaptive.undetected_success_rate)}</strong> get through.
              </p>
            </section>`
          : ''
      }
      <section id="results" class="card">
        <h2>Results</h2>
        ${resultsTable(report.rows)}
        <p class="note">
          Positives: the OOD inputs, or the misclassified adversarial examples; negatives: the clean test inputs, or (attacks) the clean originals of those
          examples. TPR at 5% FPR sets the threshold on each row's negatives; τ is the calibrated threshold. Undetected success: misclassified and not flagged
          at τ, over the ${report.data.attack_n} correctly classified inputs attacked. Clean test inputs flagged at τ: ${pct(report.clean_fpr_at_threshold)};
          clean accuracy ${pct(report.clean_accuracy)}.
        </p>
      </section>
      <section class="charts">
        <div class="card">
          <h2 id="roc-ood-title">ROC: out-of-distribution inputs</h2>
          <figure class="chart">${trustedHtml(rocChart(ood, 'roc-ood-title', 'roc-ood-'))}</figure>
        </div>
        <div class="card">
          <h2 id="roc-adv-title">ROC: adversarial examples, plain (dashed) and adaptive (thick)</h2>
          <figure class="chart">${trustedHtml(rocChart(attacks, 'roc-adv-title', 'roc-adv-'))}</figure>
        </div>
      </section>
      <section id="detector" class="card">
        <h2>Detector and calibration</h2>
        <table class="kv">
          <tbody>
            <tr>
              <th>detector file</th>
              <td>${report.detector.path}</td>
            </tr>
            <tr>
              <th>kind</th>
              <td>${report.detector.kind}</td>
            </tr>
            ${
              report.detector.features
                ? html`<tr>
                    <th>features</th>
                    <td>${report.detector.features}</td>
                  </tr>`
                : ''
            }
            <tr>
              <th>threshold τ</th>
              <td>${report.detector.threshold.toPrecision(6)} (flag when score &gt; τ)</td>
            </tr>
            <tr>
              <th>calibration data</th>
              <td>${c.data}</td>
            </tr>
            <tr>
              <th>calibration FPR</th>
              <td>${pct(c.fpr)} of ${c.calibration_examples} (target ${pct(report.detector.target_fpr)})</td>
            </tr>
            <tr>
              <th>clean score</th>
              <td>mean ${c.score_mean.toPrecision(5)}, std ${c.score_std.toPrecision(5)}</td>
            </tr>
            <tr>
              <th>time</th>
              <td>${report.seconds.toFixed(1)} s</td>
            </tr>
          </tbody>
        </table>
      </section>
    </main>`;
  const title = `gibbon detection report — ${report.detector.kind} on ${report.model.path}`;
  const page = htmlPage({ title, gibbonVersion: report.gibbon_version, dataImages: true }, body);
  return `${page.value.replace(/\n\s+/g, '\n')}\n`;
}
