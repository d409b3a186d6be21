/**
 * The review page: pending and reviewed items of the queue (image, client, time, answer, verdict,
 * scores), buttons to decide benign or attack with an optional class, and links that export the
 * reviewed items as a training set. Rendered on the server with `html`, which escapes every value
 * (clients' names and reasons are untrusted text); the only script is a static file of this
 * module, and the Content-Security-Policy allows nothing else (no inline script or style).
 */
import { PAGE_STYLES } from '../report/page.js';
import { html, type SafeHtml } from '../report/safe-html.js';
import type { ReviewSummary } from './review-store.js';

export const REVIEW_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const REVIEW_CSS = `${PAGE_STYLES}
.review-item { display: grid; grid-template-columns: 120px 1fr 260px; gap: 16px; align-items: center; border-top: 1px solid var(--line); padding: 10px 0; }
.review-item img { width: 112px; height: 112px; image-rendering: pixelated; border: 1px solid var(--line); }
.review-item .status { color: var(--muted); }
.review-item input { width: 64px; }
.scores { font-family: ui-monospace, monospace; font-size: 12px; }
`;

/** Posts a decision for the item whose button was clicked, and shows the outcome as text (never as markup). */
export const REVIEW_JS = `'use strict';
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-decision]') : null;
  if (!button) return;
  const row = button.closest('[data-id]');
  const status = row.querySelector('.status');
  const body = { decision: button.dataset.decision };
  const label = row.querySelector('input[name=label]').value.trim();
  if (label !== '') body.label = Number(label);
  const response = await fetch('/v1/review/items/' + encodeURIComponent(row.dataset.id) + '/decision', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (response.ok) {
    row.dataset.decided = body.decision;
    status.textContent = 'decided: ' + body.decision + (body.label === undefined ? '' : ' (class ' + body.label + ')');
  } else {
    const error = await response.json().catch(() => ({ error: response.statusText }));
    status.textContent = 'error: ' + error.error;
  }
});
`;

function scoresText(scores: Readonly<Record<string, number>>): string {
  return Object.entries(scores)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(' · ');
}

function itemRow(item: ReviewSummary, imageable: boolean): SafeHtml {
  const decided = item.status === 'reviewed' ? `decided: ${item.decision}${item.label === undefined ? '' : ` (class ${item.label})`}` : 'pending';
  const image = imageable
    ? html`<img alt="input ${item.id}" src="/v1/review/items/${encodeURIComponent(item.id)}/image.png" />`
    : html`<span>(no image)</span>`;
  return html`<div class="review-item" data-id="${item.id}">
    ${image}
    <div>
      <div><b>${item.verdict}</b> by ${item.reasons.join(', ')} · answer <b>${item.answer}</b> · client <code>${item.client}</code></div>
      <div class="scores">${scoresText(item.scores)}</div>
      <div class="status">${decided}</div>
      <div class="muted">${new Date(item.createdAt).toISOString()} · ${item.id}</div>
    </div>
    <div>
      <label>class <input name="label" type="number" min="0" step="1" /></label>
      <button type="button" data-decision="benign">benign</button>
      <button type="button" data-decision="attack">attack</button>
    </div>
  </div>`;
}

export function renderReviewPage(
  pending: readonly ReviewSummary[],
  reviewed: readonly ReviewSummary[],
  counts: { pending: number; reviewed: number },
  imageable: boolean,
): string {
  const body = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>gibbon guard · review</title>
        <link rel="stylesheet" href="/review/app.css" />
        <script src="/review/app.js" defer></script>
      </head>
      <body>
        <header class="page-header">
          <div class="wrap">
            <p class="brand">gibbon guard</p>
            <h1>Review queue</h1>
            <p class="subtitle">${counts.pending} pending · ${counts.reviewed} reviewed</p>
          </div>
        </header>
        <main class="wrap">
          <section class="card" id="pending">
            <h2>Pending (${pending.length} shown)</h2>
            ${pending.map((i) => itemRow(i, imageable))}
          </section>
          <section class="card" id="reviewed">
            <h2>Reviewed (${reviewed.length} shown)</h2>
            ${reviewed.map((i) => itemRow(i, imageable))}
          </section>
          <section class="card" id="export">
            <h2>Export</h2>
            <p>
              Reviewed items with a class (the reviewer's, or the model's answer for benign ones) as a training set for
              <code>gibbon train --data X.npy --labels Y.npy</code>: <a id="export-x" href="/v1/review/export/X.npy" download="X.npy">X.npy</a> ·
              <a id="export-y" href="/v1/review/export/Y.npy" download="Y.npy">Y.npy</a>
            </p>
          </section>
        </main>
      </body>
    </html>`;
  return body.value;
}
