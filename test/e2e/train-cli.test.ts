/**
 * `gibbon train` run as a user would, in a temporary folder: a short fast-AT run and what it
 * writes (model, per-epoch log, checkpoint), a resume refused because the options changed, a run
 * killed with SIGKILL and resumed, and bad input (labels, unwritable output, usage errors).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OnnxModel } from '../../src/model/onnx-model.js';
import { Rng } from '../../src/random.js';
import { writeNpy } from '../../src/tensor/npy.js';
import { readCheckpoint } from '../../src/training/checkpoint.js';
import { assertFails, assertOk, CLI, runCli, type Run } from '../helpers/cli.js';

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'gibbon-train-cli-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

const gibbon = (...args: string[]): Promise<Run> => runCli(work, ...args);

const LOG_FIELDS = ['loss', 'train_accuracy', 'heldout_clean_accuracy', 'heldout_pgd_accuracy', 'seconds'];

function logLines(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A failure after the run started: notes may come first, the error is the last line. */
function assertFailsLate(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.match(lines.at(-1)!, /^✖ /);
  assert.match(lines.at(-1)!, pattern);
  assert.equal(lines.filter((l) => l.startsWith('✖')).length, 1, r.stderr);
}

describe('gibbon train', () => {
  const common = ['--arch', 'mlp', '--method', 'fast-at', '--eps', '0.1', '--threads', '1'];

  test('a 2-epoch fast-AT run prints one line per epoch and writes the model, a 2-line JSON log and a checkpoint', async () => {
    const r = await gibbon('train', ...common, '--n', '600', '--heldout', '100', '--epochs', '2', '--out', 'm.onnx');
    assertOk(r);
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    assert.equal(lines.length, 3, r.stdout);
    assert.match(lines[0]!, /^epoch 1\/2 · loss \d+\.\d{4} · train acc [\d.]+% · held-out 100: clean [\d.]+%, PGD [\d.]+% at ε 0\.1 · /);
    assert.match(lines[1]!, /^epoch 2\/2 · /);
    assert.match(lines[2]!, /^wrote m\.onnx .*over 2 epochs.*m\.log\.jsonl.*m\.ckpt/);
    assert.match(r.stderr, /training --arch mlp on 600 examples of mnist:train \(100 held out\) · fast-at L∞ ε 0\.1/);

    const model = await OnnxModel.load(join(work, 'm.onnx'), { threads: 1 });
    try {
      assert.equal(model.numClasses, 10);
      const logits = await model.logits({ data: new Float32Array(2 * 784).fill(0.5), shape: [2, 1, 28, 28] });
      assert.ok(logits.data.every(Number.isFinite));
    } finally {
      await model.dispose();
    }
    const log = logLines(join(work, 'm.log.jsonl'));
    assert.deepEqual(
      log.map((l) => l.epoch),
      [1, 2],
    );
    for (const l of log) {
      for (const f of LOG_FIELDS) assert.equal(typeof l[f], 'number', `${f} in ${JSON.stringify(l)}`);
      assert.equal(l.heldout_n, 100);
    }
    assert.equal(readCheckpoint(join(work, 'm.ckpt')).epoch, 2);
  });

  test('--resume with other options (--epochs 3) is refused naming the field, and the checkpoint is kept', async () => {
    assert.ok(existsSync(join(work, 'm.ckpt')), 'made by the previous test');
    const before = readFileSync(join(work, 'm.ckpt'));
    const r = await gibbon('train', ...common, '--n', '600', '--heldout', '100', '--epochs', '3', '--resume', '--out', 'm.onnx');
    assertFailsLate(r, /m\.ckpt belongs to a different training run \(epochs: checkpoint 2, now 3\); remove it or drop --resume/);
    assert.deepEqual(readFileSync(join(work, 'm.ckpt')), before);
  });

  test('a run killed with SIGKILL after its first epoch resumes with --resume and ends with all 3 epochs', async (t) => {
    const dir = join(work, 'killed');
    mkdirSync(dir);
    const args = ['train', ...common, '--n', '6000', '--heldout', '200', '--eval-steps', '2', '--epochs', '3', '--out', 'k.onnx'];
    const log = join(dir, 'k.log.jsonl');
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const deadline = Date.now() + 60_000;
    while (logLines(log).length === 0 && child.exitCode === null && Date.now() < deadline) await sleep(25);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the run should still have been going when killed');
    const done = logLines(log).length;
    assert.ok(done >= 1 && done < 3, `${done} epochs logged at the kill`);
    t.diagnostic(`killed after ${done} logged epoch(s)`);
    assert.ok(!existsSync(join(dir, 'k.onnx')));
    assert.equal(readCheckpoint(join(dir, 'k.ckpt')).epoch, done);

    const r = await runCli(dir, ...args, '--resume');
    assertOk(r);
    assert.match(r.stderr, new RegExp(`resumed after epoch ${done} from k\\.ckpt`));
    const epochLines = r.stdout.split('\n').filter((l) => l.startsWith('epoch '));
    assert.deepEqual(
      epochLines.map((l) => l.slice(0, 9)),
      ['epoch 1/3', 'epoch 2/3', 'epoch 3/3'].slice(done),
    );
    assert.deepEqual(
      logLines(log).map((l) => l.epoch),
      [1, 2, 3],
    );
    assert.ok(existsSync(join(dir, 'k.onnx')));
  });

  test('labels that do not fit the model: the label and the class count are named (exit 1)', async () => {
    const rng = new Rng(5);
    const n = 40;
    writeNpy(join(work, 'X.npy'), { type: 'float32', data: Float32Array.from({ length: n * 784 }, () => rng.uniform()), shape: [n, 1, 28, 28] });
    const y = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10));
    y[17] = 12n;
    writeNpy(join(work, 'Y.npy'), { type: 'int64', data: y, shape: [n] });
    const r = await gibbon('train', '--arch', 'mlp', '--data', 'X.npy', '--labels', 'Y.npy', '--heldout', '4', '--epochs', '1', '--out', 'bad.onnx');
    assertFailsLate(r, /label 12 of example \d+ does not fit the model's 10 classes \(0–9\)/);
    assert.ok(!existsSync(join(work, 'bad.onnx')));
  });

  test('an unwritable --out is one line naming the path (exit 1): missing folder, a file as folder, a read-only folder', async (t) => {
    assertFails(await gibbon('train', '--arch', 'mlp', '--out', 'missing/m.onnx'), /cannot write --out missing\/m\.onnx: directory .*missing does not exist/);
    writeFileSync(join(work, 'plain.txt'), 'x');
    assertFails(await gibbon('train', '--arch', 'mlp', '--out', 'plain.txt/m.onnx'), /cannot write --out plain\.txt\/m\.onnx: .*plain\.txt is not a directory/);
    if (process.getuid?.() === 0) {
      t.diagnostic('running as root: permissions do not stop writes, the read-only folder case is skipped');
      return;
    }
    const locked = join(work, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    try {
      assertFails(await gibbon('train', '--arch', 'mlp', '--out', 'locked/m.onnx'), /cannot write --out locked\/m\.onnx/);
    } finally {
      chmodSync(locked, 0o755);
    }
  });

  test('usage errors exit 2: both --arch and --model, neither, --data X.npy without --labels', async () => {
    assertFails(
      await gibbon('train', '--arch', 'mlp', '--model', 'm.onnx', '--out', 'u.onnx'),
      /give exactly one of --arch NAME \(train from scratch\) or --model FILE \(fine-tune\)/,
      2,
    );
    assertFails(await gibbon('train', '--out', 'u.onnx'), /give exactly one of --arch NAME/, 2);
    assertFails(await gibbon('train', '--arch', 'mlp', '--data', 'X.npy', '--out', 'u.onnx'), /--data X\.npy needs the true classes: add --labels Y\.npy/, 2);
    assertFails(
      await gibbon('train', '--arch', 'mlp', '--labels', 'Y.npy', '--out', 'u.onnx'),
      /--labels goes with --data X\.npy \(mnist brings its own labels\)/,
      2,
    );
  });
});
