/**
 * `npm run guard-load -- [--seconds 10] [--connections 16] [--threads 1] [--soak SECONDS] [--json FILE]`
 * Load on `gibbon guard serve` (a child process) with autocannon on 127.0.0.1: single-image JSON
 * requests (100 MNIST test images in turn) to models/mnist-standard.onnx with a combined detector
 * (fitted here on 2000 training images, 5% FPR, so ~5% of the answers are flagged and queued in
 * SQLite). Prints requests/s, latency p50/p99 and errors. `--soak S` runs for S seconds instead and
 * samples the server's resident memory (VmRSS) every 10 s, printing the series and its growth
 * after the first minute. On a shared machine the numbers are "under load".
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { loadLabelledData } from '../src/data/datasets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MODEL = join(ROOT, 'models', 'mnist-standard.onnx');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    threads: { type: 'string', default: '1' },
    soak: { type: 'string' },
    json: { type: 'string' },
  },
});

const work = mkdtempSync(join(tmpdir(), 'gibbon-guard-load-'));
const detector = join(work, 'combined.json');
execFileSync(process.execPath, [CLI, 'detect', 'fit', MODEL, '--detector', 'combined', '--fit-n', '2000', '--calibration-n', '1000', '--out', detector], {
  stdio: 'ignore',
});
const server = spawn(
  process.execPath,
  [CLI, 'guard', 'serve', MODEL, '--detector', detector, '--db', `sqlite:${join(work, 'q.db')}`, '--port', '0', '--quiet', '--threads', values.threads!],
  {
    env: { ...process.env, GIBBON_GUARD_KEYS: 'load:load-test-key', GIBBON_GUARD_ADMIN_KEY: 'load-admin-key' },
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
const url = await new Promise<string>((resolveUrl, reject) => {
  let err = '';
  server.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
    if (m) resolveUrl(m[1]!);
  });
  server.on('exit', (code) => reject(new Error(`guard exited (${code}): ${err}`)));
});

const test = loadLabelledData({ name: 'mnist', split: 'test', limit: 100 });
const bodies = Array.from({ length: 100 }, (_, i) => {
  const img = Array.from(test.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 1000) / 1000);
  return JSON.stringify({ inputs: [Array.from({ length: 28 }, (_, r) => img.slice(r * 28, (r + 1) * 28))] });
});
let turn = 0;
const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) / 1024;

const run = (seconds: number) =>
  autocannon({
    url,
    connections: Number(values.connections),
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/predict',
        headers: { 'content-type': 'application/json', 'x-api-key': 'load-test-key' },
        setupRequest: (request) => ({ ...request, body: bodies[turn++ % bodies.length]! }),
      },
    ],
  });

await run(2); // warm-up: JIT, connections, onnxruntime
const seconds = Number(values.soak ?? values.seconds);
const samples: [number, number][] = [];
const started = performance.now();
const sampler = setInterval(() => samples.push([Math.round((performance.now() - started) / 1000), rss()]), 10_000);
samples.push([0, rss()]);
const r = await run(seconds);
clearInterval(sampler);
samples.push([Math.round((performance.now() - started) / 1000), rss()]);
const result = {
  seconds,
  connections: Number(values.connections),
  threads: Number(values.threads),
  requests_per_s: r.requests.average,
  latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
  total: r.requests.total,
  errors: r.errors,
  timeouts: r.timeouts,
  non2xx: r.non2xx,
  rss_mb: samples,
};
console.log(
  `${result.requests_per_s.toFixed(0)} requests/s, latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms; ${r.requests.total} requests, ${r.errors} errors, ${r.non2xx} non-2xx (${result.connections} connections, ${result.threads} onnxruntime thread(s))`,
);
if (values.soak) {
  const after60 = samples.filter(([t]) => t >= 60);
  const growth = after60.length >= 2 ? after60.at(-1)![1] - after60[0]![1] : NaN;
  console.log(`RSS (MB) over time: ${samples.map(([t, m]) => `${t}s ${m.toFixed(0)}`).join(', ')}`);
  console.log(`RSS growth after the first minute: ${growth.toFixed(1)} MB`);
}
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
server.kill('SIGTERM');
await new Promise((r2) => server.once('exit', r2));
rmSync(work, { recursive: true, force: true });
