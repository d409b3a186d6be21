/**
 * `npm run shard-acceptance -- [--n 2000] [--batch-size 128] [--workers 2] [--baseline-threads N[,M…]] [--attacks auto]`
 * Issue 19's speed acceptance: the `--attacks auto` evaluation of models/mnist-robust.onnx at
 * L∞ ε = 0.3 (models/eval-linf-0.3.yaml) on the first N MNIST test images, once in one process
 * per --baseline-threads value (onnxruntime intra-op threads, default: every core) and once sharded
 * through PostgreSQL with --workers local workers (each with cores / workers threads). Prints both
 * wall times, the speed-up, and whether the two report.json files agree except timings.
 * Self-contained: a fresh schema in the tests' database (GIBBON_TEST_POSTGRES_URL) and a temporary
 * folder, both removed at the end. On a shared machine the times are "under load".
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { reportDifferences } from '../test/helpers/report-diff.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const URL_ = process.env['GIBBON_TEST_POSTGRES_URL'] ?? 'postgres://gibbon:gibbon@127.0.0.1:5432/gibbon_test';
const cores = availableParallelism();
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    'batch-size': { type: 'string', default: '128' },
    workers: { type: 'string', default: '2' },
    'baseline-threads': { type: 'string', default: String(cores) },
    attacks: { type: 'string', default: 'auto' },
  },
});

/** Wall seconds, and CPU seconds (user + system, the process and the workers it waited for) when /usr/bin/time is there. */
function timed(args: string[], label: string): Promise<{ wall: number; cpu?: number }> {
  const started = performance.now();
  const cpuFile = join(work, `${label}.cpu`);
  const time = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', '%U %S', '-o', cpuFile] : [];
  const argv = [...time, process.execPath, CLI, ...args];
  return new Promise((resolveRun, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`gibbon ${args[0]} failed: ${stderr.trim()}`));
      const cpu = time.length > 0 ? readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number) : undefined;
      resolveRun({ wall: (performance.now() - started) / 1000, cpu: cpu ? cpu[0]! + cpu[1]! : undefined });
    });
  });
}

const cpuText = (t: { cpu?: number }): string => (t.cpu !== undefined ? `, ${t.cpu.toFixed(1)} s CPU` : '');

const work = mkdtempSync(join(tmpdir(), 'gibbon-shard-acceptance-'));
const schema = `shard_acc_${process.pid}`;
const common = [join(ROOT, 'models', 'mnist-robust.onnx'), '--threat', join(ROOT, 'models', 'eval-linf-0.3.yaml')];
common.push('--n', values.n!, '--batch-size', values['batch-size']!, '--attacks', values.attacks!);
const workers = Number(values.workers);
try {
  console.log(
    `--attacks ${values.attacks} on the first ${values.n} MNIST test images, models/mnist-robust.onnx, L∞ ε = 0.3, batches of ${values['batch-size']}; ${cores} cores`,
  );
  // Sharded first, then each baseline, printing its speed-up as soon as it is known.
  const sharded = await timed(
    ['eval', ...common, '--threads', String(cores), '--out', join(work, 'sharded'), '--queue', URL_, '--queue-schema', schema, '--workers', String(workers)],
    'sharded',
  );
  const per = Math.max(1, Math.floor(cores / workers));
  console.log(`sharded, ${workers} local worker(s) × ${per} thread(s) through PostgreSQL: ${sharded.wall.toFixed(1)} s${cpuText(sharded)}`);
  for (const threads of values['baseline-threads']!.split(',')) {
    const single = await timed(['eval', ...common, '--threads', threads, '--out', join(work, `single-${threads}`)], `single-${threads}`);
    console.log(`single process, ${threads} onnxruntime thread(s): ${single.wall.toFixed(1)} s${cpuText(single)}`);
    console.log(`  speed-up of the sharded run: ${(single.wall / sharded.wall).toFixed(2)}×`);
    if (single.cpu !== undefined && sharded.cpu !== undefined) {
      // On a busy machine wall times say little; CPU seconds say what sharding costs: with W idle cores the speed-up is at most W / this.
      console.log(`  CPU sharded / single: ${(sharded.cpu / single.cpu).toFixed(2)}`);
    }
    const differ = reportDifferences(join(work, `single-${threads}`, 'report.json'), join(work, 'sharded', 'report.json'));
    console.log(differ.length === 0 ? '  report.json: identical except timings' : `  report.json differs:\n${differ.join('\n')}`);
    if (differ.length > 0) process.exitCode = 1;
  }
} finally {
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`DROP SCHEMA IF EXISTS ${schema}_boss CASCADE`);
  await admin.end();
  rmSync(work, { recursive: true, force: true });
}
