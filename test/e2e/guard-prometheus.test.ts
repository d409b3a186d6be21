/**
 * A real Prometheus (Debian's package, /usr/bin/prometheus; tools/guard/services.sh installs it)
 * scrapes the guard's /metrics: the test starts it with a temporary config that scrapes the guard
 * every second, sends predictions, and asks Prometheus's HTTP API for gibbon metrics until they
 * arrive with the values the guard counted. It fails, not skips, without the binary.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ADMIN_KEY, mnistTest, nested, scratch, startTestGuard } from '../helpers/guard.js';

const PROMETHEUS = process.env['GIBBON_PROMETHEUS'] ?? '/usr/bin/prometheus';
const work = scratch('gibbon-guard-prometheus-');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function query(base: string, promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await r.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.status === 'success' ? body.data.result : [];
}

test('Prometheus scrapes the guard: request counts and latency histograms by route', async () => {
  if (!existsSync(PROMETHEUS)) {
    throw new Error(`prometheus not found at ${PROMETHEUS}; install Debian's package (tools/guard/services.sh does) or set GIBBON_PROMETHEUS`);
  }
  const guard = await startTestGuard({ db: `sqlite:${join(work, 'q.db')}` });
  after(() => guard.close());
  const { x } = mnistTest(5);
  for (let r = 0; r < 5; r++) {
    const res = await guard.server.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: { 'x-api-key': 'alice-key-0001' },
      payload: { inputs: nested(x, r) },
    });
    assert.equal(res.statusCode, 200);
  }
  assert.equal((await guard.server.inject({ url: '/v1/review/items', headers: { authorization: 'Bearer wrong-admin' } })).statusCode, 403);
  assert.notEqual(ADMIN_KEY, 'wrong-admin');

  const port = await freePort();
  const target = new URL(guard.url).host;
  const config = join(work, 'prometheus.yml');
  writeFileSync(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gibbon-guard\n    static_configs:\n      - targets: ['${target}']\n`);
  const prometheus = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: 'ignore' },
  );
  after(() => {
    prometheus.kill('SIGTERM');
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  let predictions: Awaited<ReturnType<typeof query>> = [];
  while (Date.now() < deadline) {
    predictions = await query(base, 'gibbon_guard_requests_total{route="/v1/predict",status="200"}').catch(() => []);
    if (predictions.length > 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(predictions.length, 1, 'Prometheus has the guard request counter');
  assert.equal(predictions[0]!.value[1], '5');
  assert.equal(predictions[0]!.metric['job'], 'gibbon-guard');
  const refused = await query(base, 'gibbon_guard_requests_total{status="403"}');
  assert.equal(refused[0]?.value[1], '1');
  const up = await query(base, 'up{job="gibbon-guard"}');
  assert.equal(up[0]?.value[1], '1');
  const p99 = await query(base, 'histogram_quantile(0.99, sum by (le) (gibbon_guard_request_duration_seconds_bucket{route="/v1/predict"}))');
  assert.ok(Number(p99[0]?.value[1]) > 0, 'a latency quantile computed from the histogram');
});
