/**
 * `npm run shard-soak -- [--n 256] [--workers 3] [--kill-every 2000]` The fault drill of
 * test/e2e/shard-faults.test.ts, longer: models/mnist-standard.onnx, `--attacks pgd,apgd-ce`, the
 * first N MNIST test images in batches of 8, a random worker killed with SIGKILL (and replaced)
 * every --kill-every ms and the coordinator killed once and resumed. Prints the kills, the jobs
 * retried, the result rows (each unit exactly once) and whether the report equals the in-process
 * one. A fresh schema in the tests' database, removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../test/helpers/cli.js';
import { reportDifferences } from '../test/helpers/report-diff.js';
import { faultDrill } from '../test/helpers/shard-faults.js';
import { query } from '../test/helpers/shard.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '256' }, workers: { type: 'string', default: '3' }, 'kill-every': { type: 'string', default: '2000' } },
});
const n = Number(values.n);
const work = mkdtempSync(join(tmpdir(), 'gibbon-shard-soak-'));
const schema = `shard_soak_${process.pid}`;
try {
  const batches = Math.ceil(n / 8);
  const r = await faultDrill({
    work,
    schema,
    evalArgs: [join(ROOT, 'models', 'mnist-standard.onnx'), '--n', String(n), '--batch-size', '8', '--attacks', 'pgd,apgd-ce', '--threads', '1'],
    workers: Number(values.workers),
    killEveryMs: Number(values['kill-every']),
    coordinatorKillAfter: 5,
    leaseSeconds: 5,
    timeoutMs: 3 * 3600_000,
  });
  const expected = batches * 3 * 4 + batches;
  const differ = r.final.code === 0 ? reportDifferences(r.referenceReport, r.shardedReport) : ['(the sharded run failed)'];
  console.log(`${n} examples, ${expected} units; ${r.workerKills} worker kills, coordinator killed: ${r.coordinatorKilled}; jobs retried: ${r.retriedJobs}`);
  console.log(`result rows: ${r.rows.units} (${r.rows.distinct} distinct units; expected ${expected})`);
  console.log(differ.length === 0 ? 'report.json: identical except timings' : `report.json differs:\n${differ.join('\n')}\n${r.final.stderr}`);
  if (differ.length > 0 || r.rows.units !== expected || r.rows.distinct !== expected) process.exitCode = 1;
} finally {
  await query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await query(`DROP SCHEMA IF EXISTS ${schema}_boss CASCADE`);
  rmSync(work, { recursive: true, force: true });
}
