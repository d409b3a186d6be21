/**
 * `gibbon eval` against hostile HTTP endpoints (local servers on 127.0.0.1): a redirect to another
 * origin, an answer that streams forever, one of 300 MB, one nested 10⁵ deep, and `[` followed by
 * a million spaces. Each run must end within 10 s, with bounded memory and one line on stderr
 * naming the endpoint (test/hostile/harness.ts measures all three); the redirect target must
 * receive nothing, the auth token included.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deeplyNested, startHostileServer, stream, type HostileServer } from '../helpers/hostile-http.js';
import { assertCleanFailure, runHostile } from '../hostile/harness.js';

let work: string;
const servers: Record<string, HostileServer> = {};
const TOKEN = 'hostile-e2e-token-91c';

function json(res: import('node:http').ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'gibbon-hostile-endpoint-'));
  servers.elsewhere = await startHostileServer((_, res) => json(res, '{"outputs": [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]}'));
  servers.redirect = await startHostileServer((_, res) => {
    res.writeHead(307, { location: `${servers.elsewhere!.origin}/collect` });
    res.end();
  });
  servers.forever = await startHostileServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"outputs": [');
    stream(res, '[0,1,2,3,4,5,6,7,8,9],', Infinity, 20);
  });
  servers.huge = await startHostileServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"outputs": [[');
    stream(res, '1,'.repeat(32 * 1024), 300 * 1024 * 1024);
  });
  servers.deep = await startHostileServer((_, res) => json(res, deeplyNested(100_000)));
  servers.spaces = await startHostileServer((_, res) => json(res, `[${' '.repeat(1_000_000)}`));
});
after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
  rmSync(work, { recursive: true, force: true });
});

function threatModel(name: string, extra: string[] = []): string {
  const url = `${servers[name]!.origin}/predict`;
  const lines = [
    'knowledge: scores',
    'norm: linf',
    'eps: [0.1]',
    'input: { bounds: [0, 1], shape: [1, 28, 28] }',
    'query_budget: 10',
    'data: mnist-test',
    'n: 2',
    'endpoint:',
    `  url: ${url}`,
    '  auth: { env: GIBBON_HOSTILE_TOKEN }',
    '  timeout_ms: 1500',
    '  retries: 1',
    '  backoff_ms: 1',
    ...extra.map((l) => `  ${l}`),
  ];
  writeFileSync(join(work, `${name}.yaml`), lines.join('\n'));
  return url;
}

async function evalAgainst(name: string): Promise<{ url: string; run: Awaited<ReturnType<typeof runHostile>> }> {
  const url = threatModel(name);
  const run = await runHostile(['eval', '--threat', `${name}.yaml`, '--attacks', 'square', '--out', `out-${name}`], {
    cwd: work,
    env: { GIBBON_HOSTILE_TOKEN: TOKEN },
  });
  return { url, run };
}

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('a redirect to another origin: refused naming both origins; nothing reaches the other server', async () => {
  const { url, run } = await evalAgainst('redirect');
  assertCleanFailure(
    run,
    new RegExp(`^✖ endpoint ${escaped(url)}: redirected \\(HTTP 307\\) to another origin, ${escaped(servers.elsewhere!.origin)};`),
    'redirect',
  );
  assert.equal(servers.elsewhere!.requests.length, 0);
  assert.ok(servers.redirect!.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`));
  assert.ok(!run.stderr.includes(TOKEN));
});

test('an answer that never ends: the timeout covers the body', async () => {
  const { url, run } = await evalAgainst('forever');
  assertCleanFailure(run, new RegExp(`^✖ endpoint ${escaped(url)}: timed out after 2 attempts \\(1 retry\\): no complete answer within 1500 ms`), 'forever');
});

test('300 MB: reading stops at max_response_bytes, memory stays bounded', async () => {
  const { url, run } = await evalAgainst('huge');
  assertCleanFailure(run, new RegExp(`^✖ endpoint ${escaped(url)}: the answer is longer than 8388608 bytes \\(max_response_bytes\\)`), 'huge');
  assert.equal(servers.huge!.requests.length, 1, 'a too-large answer is not retried');
  assert.ok(run.peakRss < 400 * 1024 * 1024, `peak RSS ${(run.peakRss / 2 ** 20).toFixed(0)} MiB`);
});

test('nested 10⁵ deep, and `[` with a million spaces: clean errors at once', async () => {
  const deep = await evalAgainst('deep');
  assertCleanFailure(
    deep.run,
    new RegExp(`^✖ endpoint ${escaped(deep.url)}: the answer is not class scores: it nests arrays and objects more than \\d+ levels deep`),
    'deep',
  );
  const spaces = await evalAgainst('spaces');
  assertCleanFailure(spaces.run, new RegExp(`^✖ endpoint ${escaped(spaces.url)}: the response is not JSON \\(HTTP 200, application/json\\)`), 'spaces');
});
