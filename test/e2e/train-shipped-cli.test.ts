/**
 * `gibbon train --model` on models as shipped (test/fixtures/zoo): a binary detector with one
 * Sigmoid score (N, 1), trained as the two-class logits (0, s), and an MLP exported with a fixed
 * batch of 1, trained on batches of 25 after its batch is made symbolic. Each learns a separable toy
 * set (loss down, accuracy up, measured by `predict` before and after), and the written model keeps
 * its own head and input shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel } from '../../src/onnx/model.js';
import { Rng } from '../../src/random.js';
import { writeNpy } from '../../src/tensor/npy.js';
import { assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const ZOO = join(ROOT, 'test', 'fixtures', 'zoo');
const { work, gibbon } = cliWorkspace('gibbon-train-shipped-');

/** n examples of `features` uniform values in [0, 1), labelled by `label`. */
function toySet(name: string, n: number, features: number, label: (x: Float32Array) => number): { x: string; y: string } {
  const rng = new Rng(features);
  const x = Float32Array.from({ length: n * features }, () => rng.uniform());
  const y = Int32Array.from({ length: n }, (_, i) => label(x.subarray(i * features, (i + 1) * features)));
  const paths = { x: join(work, `${name}.x.npy`), y: join(work, `${name}.y.npy`) };
  writeNpy(paths.x, { type: 'float32', data: x, shape: [n, features] });
  writeNpy(paths.y, { type: 'int32', data: y, shape: [n] });
  return paths;
}

async function accuracy(model: string, data: { x: string; y: string }): Promise<number> {
  const r = await gibbon('predict', model, '--input', data.x, '--labels', data.y, '--threads', '1');
  assertOk(r);
  return Number(/accuracy: ([\d.]+)%/.exec(r.stdout)![1]) / 100;
}

/** Trains and returns the per-epoch losses and the written model's accuracy on the data. */
async function trainOn(model: string, data: { x: string; y: string }, out: string, epochs: number): Promise<{ losses: number[]; after: number }> {
  const r = await gibbon(
    'train',
    '--model',
    model,
    '--data',
    data.x,
    '--labels',
    data.y,
    '--heldout',
    '0',
    '--epochs',
    String(epochs),
    '--batch-size',
    '25',
    '--optimizer',
    'adam',
    '--lr',
    '0.01',
    '--threads',
    '1',
    '--out',
    out,
  );
  assertOk(r);
  const losses = [...r.stdout.matchAll(/· loss ([\d.]+) ·/g)].map((m) => Number(m[1]));
  assert.equal(losses.length, epochs, r.stdout);
  return { losses, after: await accuracy(out, data) };
}

test('a Sigmoid binary detector (N, 1) trains as two classes: the loss falls, accuracy rises, the Sigmoid head is kept', async (t) => {
  const model = join(ZOO, 'sigmoid_detector_op13.onnx');
  // Class 1 when the first 16 features outweigh the last 16: linearly separable.
  const data = toySet('sigmoid', 400, 32, (x) => (x.subarray(0, 16).reduce((a, v) => a + v, 0) > x.subarray(16).reduce((a, v) => a + v, 0) ? 1 : 0));
  const before = await accuracy(model, data);
  const out = join(work, 'sigmoid-trained.onnx');
  const { losses, after } = await trainOn(model, data, out, 6);
  t.diagnostic(`loss ${losses.join(' → ')}; accuracy ${before} → ${after}`);
  assert.ok(losses[0]! > 0.6 && losses.at(-1)! < 0.5 * losses[0]!, `losses ${losses.join(', ')}`);
  assert.ok(after >= 0.9 && after > before + 0.3, `accuracy ${before} → ${after}`);
  const trained = loadModel(out);
  assert.deepEqual(
    trained.graph.outputs.map((o) => [o.name, o.shape]),
    [['score', ['N', 1]]],
  );
  assert.equal(trained.graph.nodes.at(-1)!.opType, 'Sigmoid');
});

test('a model with a fixed batch of 1 trains on batches of 25: the loss falls, accuracy rises, the written model keeps batch 1', async (t) => {
  const model = join(ZOO, 'mlp_fixed1_op9.onnx');
  assert.deepEqual(loadModel(model).graph.inputs[0]!.shape, [1, 20]);
  // The class is the largest of the first 5 features.
  const data = toySet('fixed1', 400, 20, (x) => x.subarray(0, 5).indexOf(Math.max(...x.subarray(0, 5))));
  const before = await accuracy(model, data);
  const out = join(work, 'fixed1-trained.onnx');
  const { losses, after } = await trainOn(model, data, out, 8);
  t.diagnostic(`loss ${losses.join(' → ')}; accuracy ${before} → ${after}`);
  assert.ok(losses[0]! > 1.2 && losses.at(-1)! < 0.6 * losses[0]!, `losses ${losses.join(', ')}`);
  assert.ok(after >= 0.8 && after > before + 0.4, `accuracy ${before} → ${after}`);
  const trained = loadModel(out);
  assert.deepEqual(trained.graph.inputs[0]!.shape, [1, 20]);
  assert.deepEqual(trained.graph.outputs[0]!.shape, [1, 5]);
});
