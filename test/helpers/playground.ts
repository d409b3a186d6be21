/**
 * The browser playground in a real browser, for end-to-end tests: built into a scratch folder by
 * tools/web/build-web.mjs, served by the `serve-playground` server (cross-origin isolated, strict
 * CSP), opened in Debian's chromium through playwright-core with a fresh profile. Console errors,
 * page errors, failed requests and every request are recorded; `ready()` waits until the page has
 * loaded its runtime, bundled model and samples, and returns how many requests that took.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { servePlayground, type PlaygroundServer } from '../../src/web/static-server.js';
import { ROOT } from './cli.js';

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
  const work = mkdtempSync(join(tmpdir(), 'gibbon-playground-'));
  const out = join(work, 'web');
  const build = spawnSync(process.execPath, [join(ROOT, 'tools', 'web', 'build-web.mjs'), '--out', out], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, `the web build failed: ${build.stderr}`);
  let server: PlaygroundServer | undefined;
  let context: BrowserContext | undefined;
  try {
    server = await servePlayground(out);
    context = await launchChromium(join(work, 'profile'), 'the playground’s browser tests');
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

interface PageHooks {
  loadModel(bytes: ArrayBuffer, name: string): Promise<unknown>;
  inputGrad(
    x: { data: Float32Array; shape: number[] },
    labels: Int32Array,
    loss: string,
  ): Promise<{ grad: { data: Float32Array }; logits: { data: Float32Array } }>;
  benchmark(batch: number, runs: number): Promise<{ imagesPerSecond: number }>;
}

/** Loads model bytes into the playground's worker (as a dropped file would be). */
export async function loadModelInPage(page: Page, bytes: Uint8Array, name: string): Promise<void> {
  await page.evaluate(
    async ({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      await (globalThis as unknown as { gibbonPlayground: PageHooks }).gibbonPlayground.loadModel(bytes.buffer, name);
    },
    { b64: Buffer.from(bytes).toString('base64'), name },
  );
}

/** The input gradient and logits the page computes for a loss (float32 data travels as base64). */
export async function inputGradInPage(
  page: Page,
  x: { data: Float32Array; shape: readonly number[] },
  labels: Int32Array,
  loss: 'ce' | 'margin' | 'dlr',
): Promise<{ grad: Float32Array; logits: Float32Array }> {
  const r = await page.evaluate(
    async ({ b64, shape, labels, loss }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const hooks = (globalThis as unknown as { gibbonPlayground: PageHooks }).gibbonPlayground;
      const out = await hooks.inputGrad({ data: new Float32Array(bytes.buffer), shape }, Int32Array.from(labels), loss);
      const encode = (a: Float32Array): string => {
        const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        let s = '';
        for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
        return btoa(s);
      };
      return { grad: encode(out.grad.data), logits: encode(out.logits.data) };
    },
    { b64: Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).toString('base64'), shape: [...x.shape], labels: Array.from(labels), loss },
  );
  const decode = (s: string): Float32Array => {
    const b = Buffer.from(s, 'base64');
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  return { grad: decode(r.grad), logits: decode(r.logits) };
}

/** Input-gradient throughput of the loaded model in the page (images/s, CE, `runs` timed runs after one warm-up). */
export async function benchmarkInPage(page: Page, batch: number, runs: number): Promise<number> {
  return page.evaluate(
    async ({ batch, runs }) => (await (globalThis as unknown as { gibbonPlayground: PageHooks }).gibbonPlayground.benchmark(batch, runs)).imagesPerSecond,
    { batch, runs },
  );
}
