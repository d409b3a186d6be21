/**
 * The text evaluation's report.html: clean and robust accuracy per budget, one row per attack
 * (success rate, queries, words changed, time), TextAttack-style summary tables, and examples with
 * the original and adversarial text side by side, changed words highlighted and invisible
 * characters spelled out. Every text from the report — the emails themselves are hostile input —
 * goes through the escaping `html` template; the page has no script and fetches nothing.
 */
import { formatPercent } from './format.js';
import { htmlPage } from './page.js';
import { html, type SafeHtml } from './safe-html.js';
import { aroundChanges, diffWords, showInvisible, type DiffPiece } from './text-diff.js';
import { textAttackSummaryLines, type TextAttackSummary, type TextReport } from './text-report.js';

export const TEXT_REPORT_HTML_FILE = 'report.html';
/** Examples shown per attack and budget (the JSON has all). */
const SHOWN = 12;
const CONTEXT_WORDS = 8;

const TEXT_STYLES = `
.diff { white-space: pre-wrap; word-break: break-word; font-size: 13px; line-height: 1.5; margin: 4px 0; }
.diff .changed, .diff .inserted { background: #fde68a; border-radius: 3px; }
.diff .removed { background: #fecaca; text-decoration: line-through; border-radius: 3px; }
pre.summary-lines { font-size: 12px; overflow-x: auto; }
`;

function pieces(list: readonly DiffPiece[]): SafeHtml {
  return html`${list.map((p) => (p.kind === 'same' ? html`${showInvisible(p.text)}` : html`<span class="${p.kind}">${showInvisible(p.text)}</span>`))}`;
}

function labelName(report: TextReport, id: number | undefined): string {
  if (id === undefined) return '?';
  return report.labels?.[id] ?? String(id);
}

function examples(report: TextReport, s: TextAttackSummary): SafeHtml {
  const wins = s.results.filter((r) => r.outcome !== 'skipped' && r.outcome.status === 'success').slice(0, SHOWN);
  if (wins.length === 0) return html`<p class="empty">No successful adversarial texts.</p>`;
  return html`${wins.map((r) => {
    const o = r.outcome as Exclude<typeof r.outcome, 'skipped'>;
    const original = report.texts[r.example]!;
    const { before, after } = diffWords(original.text, o.adversarial!);
    return html`<div class="example">
      <p class="note">
        example ${r.example}: ${labelName(report, original.label)} → ${labelName(report, o.adversarialLabel)} · ${o.measure!.wordsChanged} words,
        ${o.measure!.charEdits} char edits · ${o.queries} queries
      </p>
      <p class="diff">${pieces(aroundChanges(before, CONTEXT_WORDS))}</p>
      <p class="diff">${pieces(aroundChanges(after, CONTEXT_WORDS))}</p>
    </div>`;
  })}`;
}

/** The page as one HTML document (a pure function of the report). */
export function renderTextReportHtml(report: TextReport): string {
  const rows = report.budgets.flatMap((b) =>
    b.attacks.map(
      (s) =>
        html`<tr>
          <td>${b.budget}</td>
          <td>${s.attack}</td>
          <td class="num">${formatPercent(s.successRate)}</td>
          <td class="num">${formatPercent(s.accuracyUnderAttack)}</td>
          <td class="num">${s.medianQueries.toFixed(0)}</td>
          <td class="num">${(100 * s.meanWordFraction).toFixed(1)}% (${s.meanWordsChanged.toFixed(1)})</td>
          <td class="num">${s.meanCharEdits.toFixed(1)}</td>
          <td class="num">${s.secondsPerExample.toFixed(3)} s</td>
          <td class="num">${s.rejected}</td>
        </tr>`,
    ),
  );
  const lines = report.budgets.flatMap((b) => b.attacks.flatMap((s) => [...textAttackSummaryLines(s, report.cleanAccuracy, b.budget), '']));
  const body = html`<header class="page-header">
      <div class="wrap">
        <p class="brand">gibbon · text robustness report</p>
        <h1>${report.model}</h1>
        <p class="subtitle">${report.examples} examples · clean accuracy ${formatPercent(report.cleanAccuracy)} · seed ${report.seed}</p>
      </div>
    </header>
    <main class="wrap">
      ${report.warnings.length > 0 ? html`<div class="alert card">${report.warnings.map((w) => html`<p>${w}</p>`)}</div>` : ''}
      <section class="card">
        <h2>Robust accuracy per budget</h2>
        <table>
          <thead>
            <tr>
              <th>budget</th>
              <th>robust accuracy (all attacks)</th>
            </tr>
          </thead>
          <tbody>
            ${report.budgets.map(
              (b) =>
                html`<tr>
                  <td>${b.budget}</td>
                  <td class="num">${formatPercent(b.robustAccuracy)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h2>Attacks</h2>
        <table>
          <thead>
            <tr>
              <th>budget</th>
              <th>attack</th>
              <th>success</th>
              <th>accuracy under attack</th>
              <th>median queries</th>
              <th>words changed</th>
              <th>char edits</th>
              <th>time / example</th>
              <th>rejected by the harness</th>
            </tr>
          </thead>
          <tbody>
            ${rows}
          </tbody>
        </table>
        <p class="note">
          Success: of the examples the model got right. Words changed and char edits: mean over successful examples, as the harness measured them.
        </p>
      </section>
      <section class="card">
        <h2>Summary (TextAttack format)</h2>
        <pre class="summary-lines">${lines.join('\n')}</pre>
      </section>
      ${report.budgets.flatMap((b) =>
        b.attacks.map(
          (s) =>
            html`<section class="card">
              <h2>${s.attack} · ${b.budget}</h2>
              ${examples(report, s)}
            </section>`,
        ),
      )}
    </main>`;
  const page = htmlPage({ title: `gibbon text report — ${report.model}`, gibbonVersion: report.gibbonVersion }, body).value;
  return page.replace('</style>', `${TEXT_STYLES}</style>`);
}
