/**
 * A sharded evaluation (2 local workers through the tests' PostgreSQL) writes the report of the
 * in-process run, except timings: the same clean and robust accuracies, per-attack numbers, masking
 * checks and gallery. Every (batch, ε, stage) has exactly one result row. A second run of the same
 * evaluation without --resume is told the database already holds it; with --resume it reuses the
 * stored results. PostgreSQL: tools/guard/services.sh (the test fails, not skips, without it).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';
import { reportDifferences } from '../helpers/report-diff.js';
import { POSTGRES_URL, query, shardSchema } from '../helpers/shard.js';

const { work, gibbon } = cliWorkspace('gibbon-shard-eq-');
const schema = shardSchema('shard_eq');
const MODEL = join(ROOT, 'models', 'mnist-standard.onnx');
// 24 examples in 3 batches, 3 budgets, two cascade stages and the checks: 3 × 3 × 4 + 3 = 39 units.
const EVAL = [MODEL, '--n', '24', '--batch-size', '8', '--attacks', 'pgd,apgd-ce', '--threads', '1'];

test('2 workers through PostgreSQL give the in-process report, with one result per unit', async () => {
  const alone = await gibbon('eval', ...EVAL, '--out', 'alone');
  assertOk(alone);
  const sharded = await gibbon('eval', ...EVAL, '--out', 'sharded', '--queue', POSTGRES_URL, '--queue-schema', schema, '--workers', '2');
  assertOk(sharded);
  assert.match(sharded.stderr, /evaluation [0-9a-f]{12} \(new\) on queue 'gibbon-eval', 2 local worker\(s\)/);
  assert.deepEqual(reportDifferences(join(work, 'alone', 'report.json'), join(work, 'sharded', 'report.json')), []);

  const rows = await query<{ units: number; distinct: number; workers: number }>(
    `SELECT count(*)::int AS units, count(DISTINCT (batch, eps, stage))::int AS distinct, count(DISTINCT worker)::int AS workers FROM ${schema}.results`,
  );
  assert.deepEqual(rows[0], { units: 39, distinct: 39, workers: 2 });
  const state = await query<{ state: string }>(`SELECT state FROM ${schema}.evaluations`);
  assert.deepEqual(state, [{ state: 'finished' }]);

  // The same evaluation again: the finished results are reused, nothing is queued or computed again.
  const again = await gibbon('eval', ...EVAL, '--out', 'again', '--queue', POSTGRES_URL, '--queue-schema', schema);
  assertOk(again);
  assert.match(again.stderr, /\(finished\)/);
  assert.deepEqual(reportDifferences(join(work, 'alone', 'report.json'), join(work, 'again', 'report.json')), []);
  assert.equal((await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.results`))[0]!.n, 39);
});
