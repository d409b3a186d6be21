/**
 * The browser playground in a real browser, for end-to-end tests: built into a scratch folder by
 * tools/web/build-web.mjs, served by the `serve-playground` server (cross-origin isolated, strict
 * CSP), opened in Debian's chromium through playwright-core with a fresh profile. Console errors,
 * page errors, failed requests and every request are recorded; `ready()` waits until the page has
 * loaded its runtime, bundled model and samples, and returns how many requests that took.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { servePlayground, type PlaygroundServer } from '../../src/web/static-server.js';
import { ROOT } from './cli.js';

const CHROMIUM = process.env['GIBBON_CHROMIUM'] ?? '/usr/bin/chromium';

export interface PlaygroundVisit {
  readonly page: Page;
  readonly problems: string[];
  readonly requests: string[];
  /** Waits for the page to be ready; returns its runtime facts. */
  ready(): Promise<{ threads: number; crossOriginIsolated: boolean; onnxruntime: string }>;
}

export interface Playground {
  open(): Promise<PlaygroundVisit>;
  close(): Promise<void>;
}

export async function startPlayground(): Promise<Playground> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium not found at ${CHROMIUM}: the browser tests need it. Install Debian's package (apt-get install -y chromium) or set GIBBON_CHROMIUM.`,
    );
  }
  const work = mkdtempSync(join(tmpdir(), 'gibbon-playground-'));
  const out = join(work, 'web');
  const build = spawnSync(process.execPath, [join(ROOT, 'tools', 'web', 'build-web.mjs'), '--out', out], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, `the web build failed: ${build.stderr}`);
  let server: PlaygroundServer | undefined;
  let context: BrowserContext | undefined;
  try {
    server = await servePlayground(out);
    context = await chromium.launchPersistentContext(join(work, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
      deviceScaleFactor: 1,
    });
  } catch (e) {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  const url = server.url;
  return {
    async open() {
      const page = await context!.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
      page.on('request', (r) => requests.push(r.url()));
      // Workers' requests (the wasm glue and binary) are the context's, not the page's.
      context!.on('request', (r) => {
        if (!requests.includes(r.url())) requests.push(r.url());
      });
      await page.goto(url, { waitUntil: 'load' });
      const ready = () => page.evaluate(() => (globalThis as unknown as { gibbonPlayground: { ready: Promise<never> } }).gibbonPlayground.ready);
      return { page, problems, requests, ready };
    },
    async close() {
      await context?.close();
      await server?.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
