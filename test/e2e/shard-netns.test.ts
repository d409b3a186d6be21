/**
 * Workers on other "machines": two network namespaces, each joined to the host by a veth pair
 * (10.231.k.0/24), run `gibbon worker` against PostgreSQL at the host side's address, so every
 * query crosses a real network interface (the database sees them from 10.231.k.2). One link goes
 * down mid-run while the database drops that worker's connections; when the link is back the
 * worker rejoins: with the other worker stopped, it alone computes a second evaluation. The first
 * evaluation's report equals the in-process one.
 * Needs root and `ip netns` (skipped otherwise, saying why) and PostgreSQL listening beyond
 * loopback with the test subnet admitted (tools/guard/services.sh sets both).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';
import { reportDifferences } from '../helpers/report-diff.js';
import { POSTGRES_URL, query, shardSchema, sleep, start, workerArgs, type Proc } from '../helpers/shard.js';

function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return "'ip netns' is not available";
  }
}

const skip = netnsUnavailable();
const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
const tag = String(process.pid % 100000);
const links = [1, 2].map((k) => ({
  ns: `gibbon-shard-${tag}-${k}`,
  host: `gsh${tag}h${k}`,
  peer: `gsh${tag}n${k}`,
  hostAddr: `10.231.${k}.1`,
  nsAddr: `10.231.${k}.2`,
}));

function createLinks(): void {
  for (const l of links) {
    ip('netns', 'add', l.ns);
    ip('link', 'add', l.host, 'type', 'veth', 'peer', 'name', l.peer);
    ip('link', 'set', l.peer, 'netns', l.ns);
    ip('addr', 'add', `${l.hostAddr}/24`, 'dev', l.host);
    ip('link', 'set', l.host, 'up');
    ip('netns', 'exec', l.ns, 'ip', 'addr', 'add', `${l.nsAddr}/24`, 'dev', l.peer);
    ip('netns', 'exec', l.ns, 'ip', 'link', 'set', l.peer, 'up');
    ip('netns', 'exec', l.ns, 'ip', 'link', 'set', 'lo', 'up');
  }
}

function removeLinks(): void {
  for (const l of links) {
    try {
      ip('netns', 'del', l.ns);
    } catch {
      // not created
    }
    try {
      ip('link', 'del', l.host);
    } catch {
      // went with the namespace
    }
  }
}

test('workers in network namespaces reach PostgreSQL over veth links; one that loses its link rejoins', { skip }, async () => {
  const { work, gibbon } = cliWorkspace('gibbon-shard-netns-');
  const schema = shardSchema('shard_ns');
  const model = join(ROOT, 'models', 'mnist-standard.onnx');
  const evalArgs = [model, '--n', '32', '--batch-size', '8', '--attacks', 'pgd,apgd-ce', '--threads', '1'];
  removeLinks();
  createLinks();
  const workers: Proc[] = [];
  after(() => {
    for (const w of workers) w.child.kill('SIGKILL');
    removeLinks();
  });
  assertOk(await gibbon('eval', ...evalArgs, '--out', 'reference'));

  const sharded = (out: string, ...more: string[]): string[] => ['--out', out, '--queue', POSTGRES_URL, '--queue-schema', schema, '--workers', '0', ...more];
  const coordinator = start(work, ['eval', ...evalArgs, ...sharded('sharded', '--lease', '8')]);
  for (const [k, l] of links.entries()) {
    const url = new URL(POSTGRES_URL);
    url.hostname = l.hostAddr;
    workers.push(start(work, [...workerArgs(schema, `ns-${k + 1}`, url.toString()), '--db-timeout', '4'], {}, ['ip', 'netns', 'exec', l.ns]));
  }
  const committedBy = async (name: string): Promise<number> =>
    (await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.results WHERE worker = $1`, [name]).catch(() => [{ n: 0 }]))[0]!.n;

  // Both namespaces' workers commit units, from their own addresses.
  for (let t = 0; t < 300 && ((await committedBy('ns-1')) === 0 || (await committedBy('ns-2')) === 0); t++) await sleep(200);
  const clients = await query<{ addr: string }>(
    `SELECT DISTINCT host(client_addr) AS addr FROM pg_stat_activity WHERE application_name LIKE 'gibbon-worker ns-%' ORDER BY 1`,
  );
  assert.deepEqual(
    clients.map((c) => c.addr),
    links.map((l) => l.nsAddr),
  );

  // Mid-run, link 1 goes down and the database drops that worker's sessions; 6 s later the link is back.
  ip('link', 'set', links[0]!.host, 'down');
  await query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gibbon-worker ns-1'`);
  await sleep(6000);
  ip('link', 'set', links[0]!.host, 'up');
  const done = await coordinator.done;
  assert.equal(done.code, 0, done.stderr);

  // With the other worker stopped, a second evaluation finishes only if ns-1 has rejoined.
  workers[1]!.child.kill('SIGTERM');
  await workers[1]!.done;
  const second = await gibbon('eval', model, '--n', '16', '--batch-size', '8', '--attacks', 'fgsm', '--threads', '1', ...sharded('second'));
  assertOk(second);
  workers[0]!.child.kill('SIGTERM');
  const ns1 = await workers[0]!.done;
  const byWorker = await query<{ worker: string; n: number }>(
    `SELECT worker, count(*)::int AS n FROM ${schema}.results r JOIN ${schema}.evaluations e ON e.id = r.evaluation WHERE e.plan->>'n' = '16' GROUP BY worker`,
  );
  assert.deepEqual(byWorker, [{ worker: 'ns-1', n: 20 }], ns1.stderr);
  assert.match(ns1.stderr, /ns-1: lost the queue database/);
  assert.match(ns1.stderr, /ns-1: rejoined the queue database/);
  assert.deepEqual(reportDifferences(join(work, 'reference', 'report.json'), join(work, 'sharded', 'report.json')), []);
});
