import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { loadModel, saveModel } from '../onnx/model.js';
import { readNpy, writeNpy } from '../tensor/npy.js';
import { writeFileAtomically } from './atomic-write.js';

/** A folder where writing `name`'s temporary fails (a folder is in its way), as a full disk would fail it. */
function blocked(name: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-atomic-'));
  const path = join(dir, name);
  mkdirSync(`${path}.${process.pid}.tmp`);
  return { dir, path };
}

test('a failed write leaves the old file whole and reports the path: text, .npy and .onnx', () => {
  const text = blocked('report.json');
  const npy = blocked('logits.npy');
  const onnx = blocked('model.onnx');
  try {
    writeFileSync(text.path, 'old report');
    assert.throws(
      () => writeFileAtomically(text.path, 'new report'),
      (e: unknown) => e instanceof GibbonError && e.code === 'file_unwritable' && e.message.includes(text.path),
    );
    assert.equal(readFileSync(text.path, 'utf8'), 'old report');

    writeNpy(join(npy.dir, 'other.npy'), { type: 'float32', data: new Float32Array([1, 2]), shape: [2] });
    writeFileSync(npy.path, readFileSync(join(npy.dir, 'other.npy')));
    assert.throws(() => writeNpy(npy.path, { type: 'float32', data: new Float32Array([7, 8, 9]), shape: [3] }), /cannot write .*logits\.npy/);
    assert.deepEqual(Array.from(readNpy(npy.path).data as Float32Array), [1, 2]);

    const model = loadModel(new URL('../../../test/fixtures/reference/mnist_mlp/mnist_mlp.onnx', import.meta.url).pathname);
    writeFileSync(onnx.path, 'old model bytes');
    assert.throws(() => saveModel(model, onnx.path), /cannot write model to .*model\.onnx/);
    assert.equal(readFileSync(onnx.path, 'utf8'), 'old model bytes');
    // Once the way is clear the write goes through, and leaves no temporary behind.
    rmSync(`${onnx.path}.${process.pid}.tmp`, { recursive: true });
    saveModel(model, onnx.path);
    assert.equal(loadModel(onnx.path).graph.nodes.length, model.graph.nodes.length);
    assert.deepEqual(readdirSync(onnx.dir), ['model.onnx']);
  } finally {
    for (const d of [text, npy, onnx]) rmSync(d.dir, { recursive: true, force: true });
  }
});
