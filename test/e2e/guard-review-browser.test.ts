/**
 * The review page in Debian's chromium (playwright-core, as test/e2e/report-browser.test.ts): the
 * admin signs in with Basic auth (sent with every request, as a browser does once signed in), the page lists the flagged items with their images, a client
 * name holding markup shows as text (escaped, no script runs), deciding benign / attack with a class
 * updates the item and the queue, and the export links give X.npy and Y.npy that hold the
 * decided items. No console error, no failed request, no CSP violation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Credentials } from '../../src/server/auth.js';
import type { GuardService } from '../../src/server/guard-service.js';
import { parsePolicy } from '../../src/server/policy.js';
import { parseNpy } from '../../src/tensor/npy.js';
import { ADMIN_KEY, mnistTest, nested, scratch, startTestGuard } from '../helpers/guard.js';

const CHROMIUM = process.env['GIBBON_CHROMIUM'] ?? '/usr/bin/chromium';
const work = scratch('gibbon-guard-browser-');
const HOSTILE = '<img src=x onerror=alert(1)>';
let guard: GuardService;
let browser: Browser | undefined;

before(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`chromium not found at ${CHROMIUM}: the review page's browser test needs it (apt-get install -y chromium, as .ci/run does)`);
  // The stateful detector (k = 1, a threshold above any distance) flags every query after a client's first.
  guard = await startTestGuard({
    db: `sqlite:${join(work, 'q.db')}`,
    credentials: new Credentials(new Map([[HOSTILE, 'mallory-key-01']]), ADMIN_KEY),
    policy: parsePolicy({ stateful: { threshold: 1e9, k: 1 } }, 'test'),
  });
  const { x } = mnistTest(4);
  for (let r = 0; r < 4; r++) {
    const res = await guard.server.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: { 'x-api-key': 'mallory-key-01' },
      payload: { inputs: nested(x, r) },
    });
    assert.equal(res.statusCode, 200, res.body);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
});

after(async () => {
  await browser?.close();
  await guard?.close();
});

test('list, look, decide and export on the review page, with everything escaped and no console error', async () => {
  const context = await browser!.newContext({ extraHTTPHeaders: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // A request answered 2xx whose stream the next navigation cancels is reported as ERR_ABORTED; it did not fail.
  const answered = new Set<string>();
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    else answered.add(r.url());
  });
  page.on('requestfailed', (r) => {
    if (!(answered.has(r.url()) && r.failure()?.errorText === 'net::ERR_ABORTED')) problems.push(`failed: ${r.url()} (${r.failure()?.errorText})`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });

  const response = await page.goto(`${guard.url}/review`);
  assert.equal(response!.status(), 200);
  assert.match(String(response!.headers()['content-security-policy']), /script-src 'self'/);
  const rows = page.locator('#pending .review-item');
  assert.equal(await rows.count(), 3);
  assert.match(await page.locator('.subtitle').innerText(), /3 pending · 0 reviewed/);
  // The client's name (markup with a script in an event handler) is shown as text, never run.
  assert.equal(await page.locator('#pending code').first().innerText(), HOSTILE);
  assert.equal(await page.locator('#pending img[src=x]').count(), 0);
  // Every image loaded (its natural width is the upscaled 28 px).
  const widths = await page.locator('#pending img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
  assert.equal(widths.length, 3);
  assert.ok(widths.every((w) => w >= 28));

  const first = rows.nth(0);
  await first.locator('input[name=label]').fill('7');
  await first.locator('button[data-decision=attack]').click();
  await first.locator('.status:text("decided: attack (class 7)")').waitFor();
  await rows.nth(1).locator('button[data-decision=benign]').click();
  await rows.nth(1).locator('.status:text("decided: benign")').waitFor();

  await page.reload();
  assert.match(await page.locator('.subtitle').innerText(), /1 pending · 2 reviewed/);
  assert.equal(await page.locator('#reviewed .review-item').count(), 2);

  // The export links, fetched by the page itself (its credentials, its Content-Security-Policy).
  const files: Record<string, Uint8Array> = {};
  for (const link of ['#export-x', '#export-y']) {
    const { name, bytes } = await page.locator(link).evaluate(async (a) => {
      const r = await fetch((a as HTMLAnchorElement).href);
      return { name: (a as HTMLAnchorElement).download, bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
    });
    files[name] = Uint8Array.from(bytes);
  }
  const xs = parseNpy(files['X.npy']!);
  const ys = parseNpy(files['Y.npy']!);
  assert.deepEqual(xs.shape, [2, 1, 28, 28]);
  assert.equal(Number((ys.data as BigInt64Array)[0]), 7);
  assert.deepEqual(problems, []);
  await context.close();

  // Without credentials the page is refused.
  const anonymous = await browser!.newContext();
  // (A navigation there ends in Chromium's sign-in prompt, which headless reports as ERR_INVALID_AUTH_CREDENTIALS.)
  const refused = await anonymous.request.get(`${guard.url}/review`);
  assert.equal(refused.status(), 401);
  assert.match(refused.headers()['www-authenticate'] ?? '', /^Basic realm=/);
  await anonymous.close();
});
