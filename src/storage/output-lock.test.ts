import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GibbonError } from '../errors.js';
import { removeDeadTemporaries } from './atomic-write.js';
import { acquireLock, LOCK_FILE, lockOutputFolder, processStartTime, type LockHolder } from './output-lock.js';

const work = mkdtempSync(join(tmpdir(), 'gibbon-lock-'));
after(() => rmSync(work, { recursive: true, force: true }));
let folders = 0;
const folder = (): string => mkdtempSync(join(work, `${folders++}-`));

/** The PID of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function writeHolder(dir: string, holder: Partial<LockHolder>): void {
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ host: hostname(), since: '2026-01-01T00:00:00.000Z', ...holder }));
}

const inUse = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof GibbonError, String(e));
  assert.equal(e.code, 'file_unwritable');
  assert.equal(e.location.option, '--out');
  assert.match(e.message, pattern);
  return true;
};

test('one holder at a time: a second lock is refused naming the option, folder and holder; release frees it', () => {
  const dir = folder();
  const lock = lockOutputFolder(dir, '--out');
  const holder = JSON.parse(readFileSync(lock.path, 'utf8')) as LockHolder;
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.started, processStartTime(process.pid));
  assert.throws(
    () => lockOutputFolder(dir, '--out'),
    inUse(new RegExp(`^--out ${dir} is in use by another gibbon run \\(PID ${process.pid}, since .*\\); wait for it to finish or choose another output`)),
  );
  lock.release();
  assert.ok(!existsSync(lock.path));
  lockOutputFolder(dir, '--out').release();
});

test('a stale lock is taken over: a dead PID, a recycled PID (other start time), an unreadable file past its grace time', () => {
  const dead = folder();
  writeHolder(dead, { pid: deadPid() });
  lockOutputFolder(dead, '--out').release();

  const recycled = folder();
  writeHolder(recycled, { pid: process.pid, started: (processStartTime(process.pid) ?? 5) - 1 });
  lockOutputFolder(recycled, '--out').release();

  const garbage = folder();
  writeFileSync(join(garbage, LOCK_FILE), '');
  assert.throws(() => lockOutputFolder(garbage, '--out'), inUse(/is being used by another gibbon run \(its lock .* is being written\)/));
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(join(garbage, LOCK_FILE), old, old);
  lockOutputFolder(garbage, '--out').release();
  assert.deepEqual(readdirSync(garbage), [], 'no debris left');
});

test('a live lock is kept: another live process, and a lock from another host (which cannot be checked)', () => {
  const live = folder();
  writeHolder(live, { pid: process.ppid });
  assert.throws(() => lockOutputFolder(live, '--out'), inUse(new RegExp(`PID ${process.ppid}`)));
  const remote = folder();
  writeHolder(remote, { pid: deadPid(), host: 'another-host.example' });
  assert.throws(() => lockOutputFolder(remote, '--out'), inUse(/PID \d+ on another-host\.example/));
});

test('racing processes over one stale lock: exactly one gets it', async () => {
  const dir = folder();
  writeHolder(dir, { pid: deadPid() });
  const module = fileURLToPath(new URL('./output-lock.js', import.meta.url));
  const script = `
    const { acquireLock } = await import(${JSON.stringify(module)});
    try { acquireLock(${JSON.stringify(join(dir, LOCK_FILE))}, { target: 'x' }); process.stdout.write('won'); await new Promise((r) => setTimeout(r, 1500)); }
    catch (e) { process.stdout.write(e.code ?? String(e)); }`;
  const results = await Promise.all(
    Array.from(
      { length: 4 },
      () => new Promise<string>((resolve) => execFile(process.execPath, ['--input-type=module', '-e', script], (_, stdout) => resolve(stdout))),
    ),
  );
  assert.equal(results.filter((r) => r === 'won').length, 1, results.join(', '));
  assert.equal(results.filter((r) => r === 'file_unwritable').length, 3, results.join(', '));
});

test('a lock file next to an output file', () => {
  const dir = folder();
  const lock = acquireLock(join(dir, 'model.onnx.lock'), { target: join(dir, 'model.onnx'), option: '--out' });
  assert.throws(() => acquireLock(join(dir, 'model.onnx.lock'), { target: join(dir, 'model.onnx'), option: '--out' }), inUse(/model\.onnx is in use/));
  lock.release();
  lock.release();
});

test('only temporaries of dead writers are removed, and only those of the named files', () => {
  const dir = folder();
  const dead = deadPid();
  const names = [`checkpoint.json.${dead}.tmp`, `checkpoint.json.${process.pid}.tmp`, `report.json.${dead}.tmp`, `notes.txt.${dead}.tmp`, 'checkpoint.json'];
  for (const n of names) writeFileSync(join(dir, n), 'x');
  assert.deepEqual(removeDeadTemporaries(dir, ['checkpoint.json', 'report.json']).sort(), [`checkpoint.json.${dead}.tmp`, `report.json.${dead}.tmp`]);
  assert.deepEqual(readdirSync(dir).sort(), ['checkpoint.json', `checkpoint.json.${process.pid}.tmp`, `notes.txt.${dead}.tmp`].sort());
});
