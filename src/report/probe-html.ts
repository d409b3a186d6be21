/**
 * report.html of a probe run: one self-contained page (no script, fetches nothing) with the overall
 * attack success rate, a table of families (verdict, rate with its 95% interval drawn as a bar,
 * counts), and transcripts — per probe the first successes and failures and every errored attempt.
 * Transcripts are hostile text: every string goes through the escaping template, and invisible
 * characters are written out (⟨U+200B⟩) so an obfuscated probe can be read.
 */
import type { ProbeReport } from './probe-report.js';
import { formatPercent, formatSeconds } from './format.js';
import { htmlPage } from './page.js';
import { html, trustedHtml, type SafeHtml } from './safe-html.js';
import { showInvisible } from './text-diff.js';

/** Transcripts shown per probe and status. */
const SHOWN_PER_STATUS = 3;
/** Characters of one message shown. */
const MESSAGE_CHARS = 4000;

const STYLES = `
.ci { position: relative; display: inline-block; width: 160px; height: 10px; background: var(--soft); border: 1px solid var(--line); border-radius: 3px; vertical-align: middle; }
.ci span { position: absolute; top: 0; bottom: 0; background: #f3b0b0; }
.ci i { position: absolute; top: -2px; bottom: -2px; width: 2px; background: var(--bad); }
.turn { margin: 4px 0; padding: 6px 10px; border-radius: 6px; white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, monospace; font-size: 12px; }
.turn-user { background: #eef4ff; } .turn-tool { background: #fff8c5; } .turn-assistant { background: #f6f8fa; } .turn-system { background: #eee; }
.role { font-weight: 650; color: var(--muted); margin-right: 6px; }
details { margin: 6px 0; } summary { cursor: pointer; } .nowrap { white-space: nowrap; }
`;

function interval(r: ProbeReport['overall']): SafeHtml {
  const [low, high] = r.ci95;
  return html`<span class="ci" title="95% bootstrap interval"
    ><span style="left:${(low * 100).toFixed(1)}%;width:${((high - low) * 100).toFixed(1)}%"></span><i style="left:${(r.rate * 100).toFixed(1)}%"></i
  ></span>`;
}

const pct = (x: number): string => formatPercent(x);
const clip = (s: string): string => showInvisible(s.length > MESSAGE_CHARS ? `${s.slice(0, MESSAGE_CHARS)}… (${s.length - MESSAGE_CHARS} more characters)` : s);

function transcript(a: ProbeReport['attempts'][number]): SafeHtml {
  const turns = a.transcript.map(
    (m) =>
      html`<div class="turn turn-${m.role === 'user' || m.role === 'tool' || m.role === 'assistant' ? m.role : 'system'}">
        <span class="role">${m.role}</span
        >${clip(m.content)}${(m.tool_calls ?? []).map((c) => html`<div>→ tool call <code>${c.name}</code> ${clip(c.arguments)}</div>`)}
      </div>`,
  );
  const label = `${a.probe} #${a.repetition} · ${a.status}${a.detectors_fired.length ? ` (${a.detectors_fired.join(', ')})` : ''}${a.error ? ` · ${a.error}` : ''}`;
  return html`<details>
    <summary>${label}</summary>
    ${turns}
  </details>`;
}

export function renderProbeReportHtml(report: ProbeReport): string {
  const attacking = report.families.filter((f) => !f.control);
  const rows = report.families.map(
    (f) =>
      html`<tr>
        <td>
          ${f.name}${f.control ? html` <span class="badge">control</span>` : ''}
          <div class="muted">${f.description}</div>
        </td>
        <td>
          <span class="badge ${f.verdict === 'succeeds' ? 'badge-bad' : f.verdict === 'fails' ? 'badge-good' : ''}"
            >${f.control ? (f.verdict === 'succeeds' ? 'false positives' : 'clean') : f.verdict === 'succeeds' ? 'attack succeeds' : f.verdict === 'fails' ? 'attack fails' : 'undecided'}</span
          >
        </td>
        <td class="num">${pct(f.success_rate.rate)}</td>
        <td class="nowrap">${interval(f.success_rate)} ${pct(f.success_rate.ci95[0])} – ${pct(f.success_rate.ci95[1])}</td>
        <td class="num">${f.counts.success}</td>
        <td class="num">${f.counts.failure}</td>
        <td class="num">${f.counts.errored}</td>
        <td class="num">${f.counts.skipped}</td>
      </tr>`,
  );
  const byProbe = new Map<string, ProbeReport['attempts'][number][]>();
  for (const a of report.attempts) {
    const key = `${a.family}/${a.probe}`;
    byProbe.set(key, [...(byProbe.get(key) ?? []), a]);
  }
  const transcripts = report.families.map((f) => {
    const probes = [...byProbe.entries()].filter(([k]) => k.startsWith(`${f.name}/`));
    return html`<section class="card">
      <h2>${f.name}</h2>
      ${probes.map(([, list]) => {
        const shown = [
          ...list.filter((a) => a.status === 'success').slice(0, SHOWN_PER_STATUS),
          ...list.filter((a) => a.status === 'failure').slice(0, SHOWN_PER_STATUS),
          ...list.filter((a) => a.status === 'errored' || a.status === 'skipped').slice(0, 20),
        ];
        return shown.map(transcript);
      })}
    </section>`;
  });
  const errored = report.families.reduce((s, f) => s + f.counts.errored, 0);
  const body = html`<header class="page-header">
      <div class="wrap">
        <p class="brand">gibbon probe</p>
        <h1>${report.target}</h1>
        <p class="subtitle">
          ${report.families.length} families · ${report.repetitions} repetitions per probe · seed ${report.seed} · ${report.calls} calls, ${report.requests}
          requests${report.request_budget !== null ? ` (budget ${report.request_budget})` : ''} · ${formatSeconds(report.seconds)}
        </p>
      </div>
    </header>
    <main class="wrap">
      <section class="summary">
        <div class="stat stat-bad">
          <p class="stat-label">attack success rate (all attacking families)</p>
          <p class="stat-value">${pct(report.overall.rate)}</p>
          <p class="stat-note">95% CI ${pct(report.overall.ci95[0])} – ${pct(report.overall.ci95[1])}, ${report.overall.n} attempts</p>
        </div>
        <div class="stat">
          <p class="stat-label">families that succeed</p>
          <p class="stat-value">${attacking.filter((f) => f.verdict === 'succeeds').length} / ${attacking.length}</p>
          <p class="stat-note">the 95% interval's low end is above 0</p>
        </div>
        <div class="stat">
          <p class="stat-label">errored attempts</p>
          <p class="stat-value">${errored}</p>
          <p class="stat-note">no usable answer after retries; neither success nor failure</p>
        </div>
      </section>
      <section class="card">
        <h2>Families</h2>
        <table class="data">
          <thead>
            <tr>
              <th>family</th>
              <th>verdict</th>
              <th>success</th>
              <th>95% bootstrap interval</th>
              <th>succeeded</th>
              <th>failed</th>
              <th>errored</th>
              <th>skipped</th>
            </tr>
          </thead>
          <tbody>
            ${rows}
          </tbody>
        </table>
        <p class="note">
          Success: a detector of the probe fired (canary leaked, forbidden tool called, no refusal and the goal met, pattern). Rates count decided attempts only
          (errored and skipped ones are left out). Probe file: <code>${report.probe_file}</code>.
        </p>
      </section>
      <h2>Transcripts</h2>
      ${transcripts}
    </main>`;
  return htmlPage(
    { title: `gibbon probe · ${report.target}`, gibbonVersion: report.gibbon_version },
    html`<style>
        ${trustedHtml(STYLES)}
      </style>
      ${body}`,
  ).toString();
}
