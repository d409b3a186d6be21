/**
 * Faults the guard must survive:
 * - `kill -9` of `gibbon guard serve` (a child process) while 8 clients send flagged inputs: after a
 *   restart on the same database, every item whose request was answered is there, and clients
 *   retrying every request (answered or not, with the same Idempotency-Key) create no duplicate —
 *   with SQLite and with PostgreSQL (GIBBON_TEST_POSTGRES_URL, in a schema of its own);
 * - the PostgreSQL server stopping (a private instance the test starts, so the shared one is left
 *   alone; needs root, as CI runs): flagged requests get 503 with Retry-After and /healthz says
 *   unavailable, unflagged ones are still answered, and once it is back everything works again.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy } from '../../src/server/policy.js';
import { openReviewStore } from '../../src/server/open-review-store.js';
import { CLI } from '../helpers/cli.js';
import { GUARD_ENV, postgresSchemaUrl, scratch, STANDARD, startTestGuard } from '../helpers/guard.js';

const work = scratch('gibbon-guard-faults-');
// Every input is flagged: the load test is about the queue, not the detector.
const FLAG_ALL = 'detectors: { combined: { threshold: -1000 } }\n';
const policyFile = join(work, 'flag-all.yaml');
writeFileSync(policyFile, FLAG_ALL);
const KEY = { 'x-api-key': 'alice-key-0001', 'content-type': 'application/json' };

async function detectorFile(): Promise<string> {
  const out = join(work, 'combined.json');
  if (!existsSync(out)) {
    execFileSync(
      process.execPath,
      [CLI, 'detect', 'fit', STANDARD, '--detector', 'combined', '--fit-n', '500', '--calibration-n', '300', '--out', out, '--threads', '1'],
      {
        stdio: 'ignore',
      },
    );
  }
  return out;
}

/** Starts `gibbon guard serve` on a free port; resolves with the child and its URL once it listens. */
function serve(db: string, detector: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [CLI, 'guard', 'serve', STANDARD, '--detector', detector, '--policy', policyFile, '--db', db, '--port', '0', '--quiet', '--threads', '1'],
    {
      env: { ...process.env, ...GUARD_ENV },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`guard exited (${code}) before listening: ${err}`)));
  });
}

function noiseBody(i: number): string {
  const img = Array.from({ length: 28 }, (_, r) => Array.from({ length: 28 }, (_, c) => ((r * 131 + c * 71 + i * 977) % 1000) / 1000));
  return JSON.stringify({ inputs: [img] });
}

let lastProblem = '';

async function send(url: string, i: number): Promise<string | undefined> {
  try {
    const r = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { ...KEY, 'idempotency-key': `request-${i}` }, body: noiseBody(i) });
    if (r.status !== 200) {
      lastProblem = `HTTP ${r.status}: ${await r.text()}`;
      return undefined;
    }
    const body = (await r.json()) as { review_ids: string[] };
    return body.review_ids[0];
  } catch (e) {
    lastProblem = (e as Error).message;
    return undefined;
  }
}

async function killUnderLoad(db: string): Promise<void> {
  const detector = await detectorFile();
  const first = await serve(db, detector);
  const acknowledged = new Map<number, string>();
  let next = 0;
  let stop = false;
  const client = async (): Promise<void> => {
    while (!stop) {
      const i = next++;
      const id = await send(first.url, i);
      if (id) acknowledged.set(i, id);
    }
  };
  const clients = Array.from({ length: 8 }, client);
  const deadline = Date.now() + 60_000;
  while (acknowledged.size < 150) {
    if (Date.now() > deadline) {
      first.child.kill('SIGKILL');
      stop = true;
      assert.fail(`only ${acknowledged.size} of ${next} requests answered in 60 s; last problem: ${lastProblem}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  first.child.kill('SIGKILL');
  stop = true;
  await Promise.all(clients);
  const sent = next;
  assert.ok(acknowledged.size >= 150);

  const second = await serve(db, detector);
  try {
    // Every client retries every request it sent, answered or not.
    for (let i = 0; i < sent; i++) {
      const id = await send(second.url, i);
      assert.ok(id, `request ${i} answered after the restart`);
      if (acknowledged.has(i)) assert.equal(id, acknowledged.get(i), `request ${i}: same review item as before the crash`);
    }
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }
  const store = await openReviewStore(db);
  try {
    const items = await store.list({ limit: 500, offset: 0 });
    const ids = new Set(items.map((it) => it.id));
    for (const [i, id] of acknowledged) assert.ok(ids.has(id), `acknowledged item of request ${i} survived kill -9`);
    assert.equal(items.length, ids.size);
    assert.equal((await store.counts()).pending, sent, `${sent} distinct requests, as many items: no duplicate, none lost`);
  } finally {
    await store.close();
  }
}

test('kill -9 under load loses no acknowledged item and duplicates none (SQLite)', async () => {
  await killUnderLoad(`sqlite:${join(work, 'kill.db')}`);
});

test('kill -9 under load loses no acknowledged item and duplicates none (PostgreSQL)', async () => {
  await killUnderLoad(await postgresSchemaUrl('guard_kill'));
});

/** A private PostgreSQL instance in `dir` on `port`, run as the postgres user. */
function privatePostgres(dir: string, port: number): { start(): void; stop(): void; url: string } {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql is empty); run tools/guard/services.sh');
  const bin = `/usr/lib/postgresql/${versions[0]}/bin`;
  chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const data = join(dir, 'data');
  const asPostgres = (args: string[]): void => void execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'ignore' });
  asPostgres([`${bin}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres']);
  const control = (action: 'start' | 'stop'): void =>
    asPostgres([
      `${bin}/pg_ctl`,
      '-D',
      data,
      '-w',
      '-m',
      'immediate',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      '-l',
      join(dir, 'log'),
      action,
    ]);
  return { start: () => control('start'), stop: () => control('stop'), url: `postgres://postgres@127.0.0.1:${port}/postgres` };
}

test('the database stopping gives 503s (not a crash), and the guard recovers when it is back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-guard-pg-'));
  const postgres = privatePostgres(dir, 55000 + (process.pid % 1000));
  postgres.start();
  let running = true;
  const detector = await detectorFile();
  const guard = await startTestGuard({
    detectors: [detector],
    db: postgres.url,
    policy: parsePolicy({ detectors: { combined: { threshold: 1e6 } }, stateful: { threshold: 1e-9, k: 1 } }, 'test'),
  });
  // One hook, in order: the guard first, then the database, then its folder.
  after(async () => {
    await guard.close();
    if (running) postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // The stateful detector (k = 1) flags an exact repeat of a client's earlier query (distance 0); nothing else here.
  const body = noiseBody(1);
  const post = () => guard.server.inject({ method: 'POST', url: '/v1/predict', headers: KEY, payload: body });
  const other = (i: number) =>
    guard.server.inject({ method: 'POST', url: '/v1/predict', headers: { ...KEY, 'x-api-key': 'bob-key-000002' }, payload: noiseBody(100 + i) });
  assert.equal((await post()).json().verdicts[0], 'ok');
  assert.equal((await post()).json().verdicts[0], 'flagged', 'an exact repeat is flagged');
  postgres.stop();
  running = false;
  const down = await post();
  assert.equal(down.statusCode, 503);
  assert.match(down.json().error, /review database is unavailable/);
  assert.equal(down.headers['retry-after'], '1');
  assert.equal((await guard.server.inject({ url: '/healthz' })).statusCode, 503);
  assert.equal((await other(1)).statusCode, 200, 'an unflagged input needs no database');
  assert.match((await guard.server.inject({ url: '/metrics' })).body, /gibbon_guard_store_errors_total [1-9]/);
  postgres.start();
  running = true;
  const back = await post();
  assert.equal(back.statusCode, 200);
  assert.equal(back.json().verdicts[0], 'flagged');
  assert.equal((await guard.server.inject({ url: '/healthz' })).statusCode, 200);
});
