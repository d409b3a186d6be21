/**
 * report.html opened in a real browser: Debian's chromium (/usr/bin/chromium; .ci/run installs it)
 * driven by playwright-core, with a fresh profile and no network. The page must load without a
 * console error or a failed request, fetch nothing but itself, show every image and the chart, and
 * look right: the screenshot is kept in test-artifacts/ (git-ignored), and the top of the page (down
 * to the second row of adversarial examples) is copied to docs/report-screenshot.png for the README.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { renderReportHtml } from '../../src/report/html.js';
import type { Report } from '../../src/report/schema.js';
import { REPOSITORY_ROOT, sampleReport } from '../../src/report/testing/sample-report.js';

const ARTIFACTS = join(REPOSITORY_ROOT, 'test-artifacts');
// The README's copy is refreshed only on request (GIBBON_UPDATE_SCREENSHOT=1), so test runs leave the tree clean.
const README_SCREENSHOT =
  process.env.GIBBON_UPDATE_SCREENSHOT === '1' ? join(REPOSITORY_ROOT, 'docs', 'report-screenshot.png') : join(ARTIFACTS, 'report-readme.png');

const work = mkdtempSync(join(tmpdir(), 'gibbon-report-browser-'));
let context: BrowserContext | undefined;

before(async () => {
  context = await launchChromium(join(work, 'profile'), "the report's browser test", { offline: true });
});

after(async () => {
  await context?.close();
  rmSync(work, { recursive: true, force: true });
});

interface Visit {
  readonly page: Page;
  readonly problems: string[];
  readonly requests: string[];
}

/** Writes the report's HTML to a file and opens it, recording console errors and requests. */
async function open(report: Report, name: string): Promise<Visit> {
  const file = join(work, `${name}.html`);
  writeFileSync(file, renderReportHtml(report));
  const page = await context!.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url().slice(0, 80)} (${request.failure()?.errorText})`));
  page.on('request', (request) => requests.push(request.url()));
  const response = await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  assert.ok(response === null || response.ok(), `the page did not load: ${response?.status()}`);
  return { page, problems, requests };
}

/** Every <img>: loaded, decoded and drawn at a non-zero size. */
async function checkImages(page: Page, expected: number): Promise<void> {
  const images = await page.$$eval('img', (all) =>
    all.map((img) => ({ complete: img.complete, natural: img.naturalWidth, width: img.getBoundingClientRect().width, src: img.src.slice(0, 22) })),
  );
  assert.equal(images.length, expected);
  for (const [i, img] of images.entries()) {
    assert.equal(img.src, 'data:image/png;base64,', `image ${i} is not inline`);
    assert.ok(img.complete && img.natural > 0, `image ${i} did not decode (naturalWidth ${img.natural})`);
    assert.ok(img.width > 0, `image ${i} is not drawn`);
  }
}

test('the sample report loads offline with no console error or failed request; images and chart are visible', async () => {
  const report = sampleReport();
  const { page, problems, requests } = await open(report, 'report');
  assert.deepEqual(problems, []);
  assert.equal(requests.filter((url) => !url.startsWith('file://') && !url.startsWith('data:')).length, 0, `external requests: ${requests.join(', ')}`);

  await checkImages(page, 3 * report.gallery.length);

  const chart = page.locator('#robustness-chart svg');
  assert.ok(await chart.isVisible(), 'the chart is not visible');
  const box = (await chart.boundingBox())!;
  assert.ok(box.width > 400 && box.height > 200, `chart box ${box.width}×${box.height}`);
  const drawn = await page.$$eval('#robustness-chart svg path', (paths) => paths.filter((p) => (p.getAttribute('d') ?? '').length > 20).length);
  assert.ok(drawn >= 10, `the chart has ${drawn} drawn paths`);
  const legend = await page.locator('#robustness-chart svg text').allTextContents();
  for (const name of ['worst case', 'fgsm', 'pgd', 'apgd-ce']) assert.ok(legend.includes(name), `legend lacks ${name}`);

  for (const p of report.robust_accuracy) assert.equal(await page.locator(`#accuracy-table tr[data-eps="${p.eps}"]`).count(), 1);
  assert.equal(await page.locator('#checks-table tbody tr').count(), report.masking_checks.length);
  assert.ok(await page.locator('#threat-model-table').isVisible());
  assert.equal(await page.locator('#model-table code.hash').textContent(), report.model.sha256);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
  mkdirSync(join(REPOSITORY_ROOT, 'docs'), { recursive: true });
  const sixth = (await page.locator('#gallery .example').nth(5).boundingBox())!;
  const height = Math.ceil(sixth.y + sixth.height + 16);
  await page.setViewportSize({ width: 1280, height });
  await page.screenshot({ path: README_SCREENSHOT });
  const size = statSync(README_SCREENSHOT).size;
  assert.ok(size > 50_000 && size < 300_000, `README screenshot is ${size} bytes`);
  await page.close();
});

test('failed checks, warnings and colour images render in the browser too', async () => {
  const report = sampleReport();
  report.masking_checks[0] = {
    ...report.masking_checks[0]!,
    passed: false,
    detail: 'PGD-20 left 12.0% where FGSM left 8.0%',
    advice: 'more steps; BPDA if the model has non-differentiable ops',
  };
  report.warnings = [{ code: 'probabilities-output', message: 'the model outputs probabilities; gradients were taken from the logits before its Softmax' }];
  const [c, h, w] = [3, 32, 32];
  const clean = Array.from({ length: c * h * w }, (_, i) => ((i * 7919) % 1000) / 1000);
  report.gallery = [
    ...report.gallery.slice(0, 2),
    { ...report.gallery[0]!, index: 99, shape: [c, h, w], clean, adversarial: clean.map((v, i) => Math.min(1, Math.max(0, v + (i % 2 ? 8 / 255 : -8 / 255)))) },
  ];
  const { page, problems } = await open(report, 'variant');
  assert.deepEqual(problems, []);
  await checkImages(page, 9);
  assert.ok(await page.locator('#masking-alert').isVisible());
  assert.ok(await page.locator('#warnings').isVisible());
  const colour = await page.$$eval('img', (all) => all.slice(6).map((img) => [img.naturalWidth, img.naturalHeight]));
  assert.deepEqual(colour, [
    [128, 128],
    [128, 128],
    [128, 128],
  ]);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'report-variant.png'), fullPage: true });
  await page.close();
});
