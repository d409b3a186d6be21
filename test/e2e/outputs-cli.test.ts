/**
 * Outputs never destroy inputs: `predict M --out M` (which once replaced the model with its logits),
 * the same through a symlink, `defend M --out M`, and `eval --junit` onto the threat-model file are
 * refused with one line naming both options, and the input is left byte for byte. Outputs that
 * another live run holds (its lock) are refused before any work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../../src/tensor/npy.js';
import { assertFails, cliWorkspace, ROOT } from '../helpers/cli.js';

const { work, gibbon } = cliWorkspace('gibbon-outputs-');
const model = join(work, 'm.onnx');
copyFileSync(join(ROOT, 'test', 'fixtures', 'reference', 'mnist_mlp', 'mnist_mlp.onnx'), model);
symlinkSync('m.onnx', join(work, 'alias.onnx'));
writeNpy(join(work, 'x.npy'), { type: 'float32', data: new Float32Array(2 * 784), shape: [2, 1, 28, 28] });
writeFileSync(join(work, 'tm.yaml'), 'knowledge: white-box\nnorm: linf\neps: [0.1]\ndata: mnist-test\nn: 2\n');

test('an output onto an input is refused naming both, and the input is unchanged', async () => {
  const before = readFileSync(model);
  assertFails(
    await gibbon('predict', 'm.onnx', '--input', 'x.npy', '--out', 'm.onnx'),
    /^✖ --out m\.onnx is MODEL m\.onnx; writing it would destroy that input: choose another --out/,
  );
  assertFails(
    await gibbon('predict', 'm.onnx', '--input', 'x.npy', '--out', 'alias.onnx'),
    /^✖ --out alias\.onnx is MODEL m\.onnx \(the same file under another name\); writing it would destroy that input/,
  );
  assertFails(await gibbon('predict', 'm.onnx', '--input', 'x.npy', '--out', 'x.npy'), /^✖ --out x\.npy is --input x\.npy;/);
  assertFails(await gibbon('defend', 'm.onnx', '--preprocess', 'bit-depth:4', '--out', './m.onnx'), /^✖ --out \.\/m\.onnx is MODEL m\.onnx/);
  assertFails(await gibbon('eval', 'm.onnx', '--threat', 'tm.yaml', '--junit', 'tm.yaml', '--out', 'r'), /^✖ --junit tm\.yaml is --threat tm\.yaml;/);
  assert.deepEqual(readFileSync(model), before);
  assert.match(readFileSync(join(work, 'tm.yaml'), 'utf8'), /^knowledge: white-box/);
});

test('certify and train refuse an output another live run holds, before any work', async () => {
  const holder = JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' });
  mkdirSync(join(work, 'busy'));
  writeFileSync(join(work, 'busy', '.gibbon.lock'), holder);
  writeFileSync(join(work, 'busy.onnx.lock'), holder);
  const busy = new RegExp(`is in use by another gibbon run \\(PID ${process.pid}, since 2026-01-01T00:00:00.000Z\\)`);
  assertFails(await gibbon('certify', 'm.onnx', '--method', 'ibp', '--eps', '0.1', '--n', '2', '--out', 'busy'), new RegExp(`^✖ --out busy ${busy.source}`));
  assertFails(await gibbon('train', '--arch', 'mlp', '--epochs', '1', '--n', '10', '--out', 'busy.onnx'), new RegExp(`^✖ --out busy\\.onnx ${busy.source}`));
  assert.deepEqual(readdirSync(join(work, 'busy')), ['.gibbon.lock']);
});
