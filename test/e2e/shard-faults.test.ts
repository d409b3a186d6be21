/**
 * kill -9 during a sharded evaluation: 3 workers, one killed (and replaced) every 1.2 s, the
 * coordinator killed once and restarted with --resume. The report equals the in-process one
 * (timings aside), every (batch, ε, stage) has exactly one result, none is missing, and jobs were
 * indeed taken back from killed workers (retried after their 5 s lease). A longer soak of the same
 * drill: `npm run shard-soak`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliWorkspace, ROOT } from '../helpers/cli.js';
import { reportDifferences } from '../helpers/report-diff.js';
import { faultDrill } from '../helpers/shard-faults.js';
import { shardSchema } from '../helpers/shard.js';

const { work } = cliWorkspace('gibbon-shard-faults-');
const schema = shardSchema('shard_kill');

test('kill -9 of workers and of the coordinator: the same report, every unit exactly once', async () => {
  const model = join(ROOT, 'models', 'mnist-standard.onnx');
  // 32 examples in 4 batches, 3 budgets, PGD → APGD-CE and the checks: 4 × 3 × 4 + 4 = 52 units.
  const r = await faultDrill({
    work,
    schema,
    evalArgs: [model, '--n', '32', '--batch-size', '8', '--attacks', 'pgd,apgd-ce', '--threads', '1'],
    workers: 3,
    killEveryMs: 1200,
    coordinatorKillAfter: 2,
    leaseSeconds: 5,
    timeoutMs: 240_000,
  });
  assert.equal(r.reference.code, 0, r.reference.stderr);
  assert.equal(r.final.code, 0, r.final.stderr);
  assert.ok(r.coordinatorKilled, 'the coordinator was killed once');
  assert.ok(r.workerKills >= 3, `${r.workerKills} worker kills`);
  assert.deepEqual(r.rows, { units: 52, distinct: 52 });
  assert.ok(r.retriedJobs >= 1, 'some jobs were taken back from killed workers');
  assert.deepEqual(reportDifferences(r.referenceReport, r.shardedReport), []);
});
