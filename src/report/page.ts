/**
 * The shell of every gibbon HTML page (report.html, the detection report, certification.html):
 * doctype, charset, viewport, a Content-Security-Policy that forbids fetching anything (data:
 * images only where the page has them), the generator, the title and the one style sheet all
 * pages share. The pages differ in their body only.
 */
import { html, trustedHtml, type SafeHtml } from './safe-html.js';

/** The pages' font, also the charts' (chart.ts). */
export const FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

export interface PageHead {
  readonly title: string;
  /** The gibbon version that wrote the page, as a generator meta tag (omitted when not given). */
  readonly gibbonVersion?: string;
  /** Whether the page shows data: images; the Content-Security-Policy allows them only then. */
  readonly dataImages?: boolean;
}

/** One self-contained HTML document around `body`. */
export function htmlPage(head: PageHead, body: SafeHtml): SafeHtml {
  const policy = `default-src 'none';${head.dataImages ? ' img-src data:;' : ''} style-src 'unsafe-inline'`;
  const generator = head.gibbonVersion === undefined ? '' : html` <meta name="generator" content="gibbon ${head.gibbonVersion}" />`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta http-equiv="Content-Security-Policy" content="${trustedHtml(policy)}" />
        ${generator}
        <title>${head.title}</title>
        <style>
          ${trustedHtml(STYLES)}
        </style>
      </head>
      <body>
        ${body}
      </body>
    </html> `;
}

/**
 * The style sheet of every page: a dark header band, cards on a light background, summary stats,
 * data tables (`table.data`, `.num` cells right-aligned) and key–value tables (`table.kv`), badges,
 * alerts, charts, the gallery of examples and the detection page's verdict and chart grid.
 */
export const STYLES = `
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
.path { word-break: break-all; }
dl { margin: 0; }
dt { font-weight: 600; margin-top: 8px; }
dd { margin: 2px 0 0; }
.verdict { border-left: 4px solid var(--bad); }
tr.adaptive td { background: #fff5f5; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); gap: 16px; }
.charts > .card { margin-bottom: 0; }
@media print { body { background: #fff; } .card, .stat { break-inside: avoid; } }
`;
