/** The CLI's file checks: output probes leave nothing behind; initializer names become safe file names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { checkOutputIsNotAnInput, checkWritableFile, fileNameFor, prepareOutputFolder, readClasses, readModelInputs } from './files.js';
import { writeNpy } from '../tensor/npy.js';
import { withTempDir } from '../../test/helpers/temp-dir.js';

const withDir = (fn: (dir: string) => void): void => withTempDir('files', fn);

test('fileNameFor keeps plain names and %-escapes the rest', () => {
  assert.equal(fileNameFor('conv1.weight'), 'conv1.weight');
  assert.equal(fileNameFor('model/dense_1/kernel:0'), 'model%2Fdense_1%2Fkernel%3A0');
  assert.equal(fileNameFor('..'), '%2E.');
  assert.equal(fileNameFor('é'), '%C3%A9');
});

test('checkWritableFile probes without leaving a file, and keeps an existing one', () => {
  withDir((dir) => {
    checkWritableFile(join(dir, 'new.npy'), '--out');
    assert.deepEqual(readdirSync(dir), []);
    writeFileSync(join(dir, 'old.npy'), 'keep me');
    checkWritableFile(join(dir, 'old.npy'), '--out');
    assert.ok(existsSync(join(dir, 'old.npy')));
    assert.throws(() => checkWritableFile(dir, '--out'), /it is a directory/);
  });
});

test('prepareOutputFolder creates nested folders and leaves no probe behind', () => {
  withDir((dir) => {
    const out = join(dir, 'a', 'b');
    prepareOutputFolder(out, '--out');
    assert.deepEqual(readdirSync(out), []);
  });
});

test('inputs and labels: conversions and the errors name the option', () => {
  withDir((dir) => {
    const facts = { inputShape: [null, 2], inputName: 'x', numClasses: 3 };
    writeNpy(join(dir, 'x.npy'), { type: 'float64', data: Float64Array.of(0.5, 1, 2, 3), shape: [2, 2] });
    assert.deepEqual([...readModelInputs(join(dir, 'x.npy'), '--input', facts).x.data], [0.5, 1, 2, 3]);
    writeNpy(join(dir, 'u.npy'), { type: 'uint8', data: Uint8Array.of(0, 255, 51, 102), shape: [2, 2] });
    const u = readModelInputs(join(dir, 'u.npy'), '--input', facts);
    assert.deepEqual([...u.x.data], [0, 1, 0.2, 0.4].map(Math.fround));
    assert.equal(u.notes.length, 1);
    writeNpy(join(dir, 'y.npy'), { type: 'int32', data: Int32Array.of(2, 0), shape: [2] });
    assert.deepEqual([...readClasses(join(dir, 'y.npy'), '--labels', 2, 'x.npy', 3)], [2, 0]);
    assert.throws(
      () => readClasses(join(dir, 'y.npy'), '--target', 2, 'x.npy', 2),
      (e: unknown) =>
        e instanceof GibbonError && e.location.option === '--target' && /target class 2 at index 0 is not a class of this model \(0…1\)/.test(e.message),
    );
    writeNpy(join(dir, 'empty.npy'), { type: 'float32', data: new Float32Array(0), shape: [0, 2] });
    assert.throws(() => readModelInputs(join(dir, 'empty.npy'), '--input', facts), /holds no examples/);
    writeFileSync(join(dir, 'bad.npy'), 'not npy');
    assert.throws(
      () => readModelInputs(join(dir, 'bad.npy'), '--input', facts),
      (e: unknown) => e instanceof GibbonError && e.location.option === '--input' && /bad magic/.test(e.message),
    );
  });
});

test('an output that is one of the inputs is refused: same path, another spelling, a symlink, a hard link', () => {
  withDir((dir) => {
    const model = join(dir, 'm.onnx');
    const other = join(dir, 'x.npy');
    writeFileSync(model, 'model');
    writeFileSync(other, 'x');
    symlinkSync(model, join(dir, 'link.onnx'));
    linkSync(model, join(dir, 'hard.onnx'));
    const inputs = [
      { path: other, option: '--input' },
      { path: model, option: 'MODEL' },
      { path: undefined, option: '--labels' },
    ];
    for (const [out, same] of [
      [model, false],
      [join(dir, '.', 'sub', '..', 'm.onnx'), false],
      [join(dir, 'link.onnx'), true],
      [join(dir, 'hard.onnx'), true],
    ] as const) {
      assert.throws(
        () => checkOutputIsNotAnInput({ path: out, option: '--out' }, inputs),
        (e: unknown) =>
          e instanceof GibbonError &&
          e.location.option === '--out' &&
          e.message ===
            `--out ${out} is MODEL ${model}${same ? ' (the same file under another name)' : ''}; writing it would destroy that input: choose another --out`,
        out,
      );
    }
    // Different files, a file not there yet, and no output at all pass.
    checkOutputIsNotAnInput({ path: join(dir, 'logits.npy'), option: '--out' }, inputs);
    writeFileSync(join(dir, 'logits.npy'), 'old');
    checkOutputIsNotAnInput({ path: join(dir, 'logits.npy'), option: '--out' }, inputs);
    checkOutputIsNotAnInput({ path: undefined, option: '--out' }, inputs);
  });
});
