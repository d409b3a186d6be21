/**
 * A sharded run's bad inputs end in one clear line: a database nobody listens at, wrong
 * credentials (never echoing the password), a URL that is not PostgreSQL's, --workers without a
 * queue, and a queue that holds another evaluation's unfinished jobs. Ctrl-C of a coordinator
 * cancels its evaluation's queued jobs; running it again then needs --resume, which finishes it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertFails, assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';
import { POSTGRES_URL, query, shardSchema, sleep, start } from '../helpers/shard.js';

const { work, gibbon } = cliWorkspace('gibbon-shard-errors-');
const schema = shardSchema('shard_err');
const MODEL = join(ROOT, 'models', 'mnist-standard.onnx');
const small = (n: number): string[] => [MODEL, '--n', String(n), '--batch-size', '8', '--attacks', 'fgsm', '--threads', '1'];
const queue = ['--queue-schema', schema];

test('an unreachable database, wrong credentials, a wrong URL and --workers alone are one-line errors', async () => {
  const unreachable = await gibbon('eval', ...small(8), '--out', 'u', '--queue', 'postgres://gibbon:s3cret@127.0.0.1:1/gibbon_test', ...queue);
  assertFails(unreachable, /cannot reach the queue database postgres:\/\/gibbon@127\.0\.0\.1:1\/gibbon_test \(ECONNREFUSED\)/);
  assert.doesNotMatch(unreachable.stderr, /s3cret/);

  const url = new URL(POSTGRES_URL);
  url.password = 'not-the-password';
  const wrong = await gibbon('eval', ...small(8), '--out', 'w', '--queue', url.toString(), ...queue);
  assertFails(wrong, new RegExp(`refused the credentials of user '${url.username}' \\(password authentication failed`));
  assert.doesNotMatch(wrong.stderr, /not-the-password/);

  assertFails(await gibbon('eval', ...small(8), '--out', 'm', '--queue', 'mysql://root@127.0.0.1/x'), /must be a PostgreSQL URL/);
  assertFails(await gibbon('eval', ...small(8), '--out', 'n', '--workers', '2'), /needs the queue's PostgreSQL URL: no --queue given/);
  const worker = await gibbon('worker', '--queue', 'postgres://gibbon:s3cret@127.0.0.1:1/gibbon_test', '--queue-schema', schema);
  assertFails(worker, /cannot reach the queue database/);
});

test("a queue holding another evaluation's jobs is refused; Ctrl-C cancels the jobs; --resume finishes", async () => {
  // A coordinator with no workers: its jobs wait in the queue.
  const first = start(work, ['eval', ...small(24), '--out', 'first', '--queue', POSTGRES_URL, ...queue, '--workers', '0']);
  let queued = 0;
  for (let t = 0; t < 100 && queued === 0; t++) {
    await sleep(200);
    queued = (await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}_boss.job WHERE state = 'created'`).catch(() => [{ n: 0 }]))[0]!.n;
  }
  // 3 batches × 3 budgets × (fgsm, fgsm check, noise check) + 3 unbounded checks.
  assert.equal(queued, 30);

  const other = await gibbon('eval', ...small(16), '--out', 'other', '--queue', POSTGRES_URL, ...queue);
  assertFails(
    other,
    /queue 'gibbon-eval' in postgres:\/\/\S+ holds 30 unfinished job\(s\) of another evaluation, [0-9a-f]{12} \(model [0-9a-f]{12}…, started .*, 0 units done\); let it finish, resume it, or use another --queue-name/,
  );

  first.child.kill('SIGINT');
  const stopped = await first.done;
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /✖ interrupted \(Ctrl-C\); the evaluation’s queued jobs were cancelled; run the same command with --resume to continue/);
  const states = await query<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM ${schema}_boss.job GROUP BY state`);
  assert.deepEqual(states, [{ state: 'cancelled', n: 30 }]);

  const again = await gibbon('eval', ...small(24), '--out', 'first2', '--queue', POSTGRES_URL, ...queue, '--workers', '1');
  assertFails(again, /holds this evaluation \([0-9a-f]{12}\) unfinished, cancelled, 0 of 30 units done; add --resume to continue it/);
  const resumed = await gibbon('eval', ...small(24), '--out', 'first3', '--queue', POSTGRES_URL, ...queue, '--workers', '1', '--resume');
  assertOk(resumed);
  assert.match(resumed.stderr, /\(resumed\)/);
  assert.equal((await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.results`))[0]!.n, 30);
  // The other evaluation can have the queue now.
  assertOk(await gibbon('eval', ...small(16), '--out', 'other2', '--queue', POSTGRES_URL, ...queue, '--workers', '1'));
});
