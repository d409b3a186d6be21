/**
 * Issue 13's acceptance for output folders: two concurrent evaluations into one folder — the second
 * is refused (one line naming --out, the folder and the running PID) instead of both exiting 0 with
 * one result silently gone; after kill -9 of the first, `--resume` reports the numbers of an
 * uninterrupted run. The first run is frozen (SIGSTOP) once it has checkpointed a batch, so the
 * test does not depend on timing. Then a checkpoint with an edited and a forged record, marked
 * finished: the resumed run drops those two, says so, and recomputes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../src/report/index.js';
import { assertFails, assertOk, CLI, cliWorkspace } from '../helpers/cli.js';

const { work, gibbon } = cliWorkspace('gibbon-lock-e2e-');
const ARGS = ['eval', '--n', '12', '--batch-size', '4', '--attacks', 'fgsm', '--seed', '3'];

function checkpointRecords(dir: string): number {
  try {
    return (JSON.parse(readFileSync(join(work, dir, 'checkpoint.json'), 'utf8')) as { records: unknown[] }).records.length;
  } catch {
    return 0;
  }
}

const report = (dir: string): Report => JSON.parse(readFileSync(join(work, dir, 'report.json'), 'utf8')) as Report;
/** What must agree between a resumed and an uninterrupted run (times differ). */
const numbers = (r: Report): unknown => ({
  clean: r.clean_accuracy,
  robust: r.robust_accuracy,
  attacks: r.attacks.map((a) => [a.eps, a.accuracy, a.queries, a.steps]),
  checks: r.masking_checks.map((c) => [c.name, c.passed, c.detail]),
});

test('a second evaluation into a busy folder is refused; after kill -9 of the first, --resume gives the uninterrupted numbers', async () => {
  const first = spawn(process.execPath, [CLI, ...ARGS, '--out', 'shared'], { cwd: work, stdio: 'ignore', env: { ...process.env, GIBBON_DEBUG: '' } });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => first.on('exit', (_, signal) => resolve(signal)));
  const deadline = Date.now() + 60_000;
  while (checkpointRecords('shared') < 1) {
    assert.ok(Date.now() < deadline && first.exitCode === null, 'the first run checkpointed a batch');
    await new Promise((r) => setTimeout(r, 10));
  }
  first.kill('SIGSTOP');
  const done = checkpointRecords('shared');
  assert.ok(done < 3, `the first run is frozen mid-way (${done} of 3 batches)`);

  const second = await gibbon(...ARGS, '--out', 'shared');
  assertFails(
    second,
    new RegExp(`^✖ --out shared is in use by another gibbon run \\(PID ${first.pid}, since [^)]+\\); wait for it to finish or choose another output`),
  );
  const resumedWhileBusy = await gibbon(...ARGS, '--out', 'shared', '--resume');
  assertFails(resumedWhileBusy, /--out shared is in use by another gibbon run/);
  assert.equal(checkpointRecords('shared'), done, 'the refused runs changed nothing');

  first.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.ok(existsSync(join(work, 'shared', '.gibbon.lock')), 'kill -9 leaves the lock behind');

  const resumed = await gibbon(...ARGS, '--out', 'shared', '--resume');
  assertOk(resumed);
  assert.match(resumed.stdout, new RegExp(`resumed ${done} finished batch\\(es\\)`));
  assert.ok(!existsSync(join(work, 'shared', '.gibbon.lock')), 'a finished run releases its lock');
  const fresh = await gibbon(...ARGS, '--out', 'fresh');
  assertOk(fresh);
  assert.deepEqual(numbers(report('shared')), numbers(report('fresh')));
});

test('a forged or damaged checkpoint marked finished: --resume drops the bad records with a note each and recomputes only them', async () => {
  // Runs after the first test, which left the uninterrupted run in 'fresh'.
  const fresh = join(work, 'fresh', 'checkpoint.json');
  assert.ok(existsSync(fresh));
  const file = JSON.parse(readFileSync(fresh, 'utf8')) as {
    finished: boolean;
    records: { predictions: number[]; eps: { stages: { broken: number[] }[] }[] }[];
    checksums: string[];
    fingerprint: unknown;
  };
  assert.equal(file.finished, true);
  assert.equal(file.records.length, 3);
  // Batch 0: an edit (its checksum no longer matches). Batch 1: a forger who recomputed the checksum, but broke an example outside the batch.
  file.records[0]!.predictions[0] = (file.records[0]!.predictions[0]! + 1) % 10;
  file.records[1]!.eps[0]!.stages[0]!.broken = [999];
  file.checksums[1] = createHash('sha256')
    .update(JSON.stringify([file.fingerprint, file.records[1]]))
    .digest('hex');
  mkdirSync(join(work, 'forged'));
  writeFileSync(join(work, 'forged', 'checkpoint.json'), JSON.stringify(file));

  const resumed = await gibbon(...ARGS, '--out', 'forged', '--resume');
  assertOk(resumed);
  const notes = resumed.stderr.split('\n').filter((l) => l.includes('is damaged'));
  assert.equal(notes.length, 2, resumed.stderr);
  assert.match(
    notes[0]!,
    /forged\/checkpoint\.json is damaged: record 0 \(batch 0\): its checksum does not match; that record is dropped and its batch computed again/,
  );
  assert.match(notes[1]!, /record 1 \(batch 1\): .* lists broken examples that are not increasing indices below 4/);
  assert.match(resumed.stdout, /resumed 1 finished batch\(es\)/);
  assert.deepEqual(numbers(report('forged')), numbers(report('fresh')));
});
