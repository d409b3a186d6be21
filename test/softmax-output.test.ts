/** Models that output probabilities (a final Softmax) are attacked through the logits feeding it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/onnx/model.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { OnnxModel } from '../src/model/onnx-model.js';

const MODEL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'reference', 'mnist_cnn', 'mnist_cnn.onnx');

test('a Softmax-terminated model gives the same logits and gradients as the logits model', async () => {
  const withSoftmax = loadModel(MODEL);
  const g = withSoftmax.graph;
  const logits = g.outputs[0]!.name;
  const b = new GraphBuilder(g, 'test');
  const probs = b.op('Softmax', [logits], { axis: 1 });
  g.outputs = [{ name: probs, dataType: 1, shape: null }];

  const plain = await OnnxModel.load(MODEL, { threads: 1 });
  const soft = await OnnxModel.load(withSoftmax, { threads: 1 });
  assert.equal(plain.outputsProbabilities, false);
  assert.equal(soft.outputsProbabilities, true);
  const x = { data: Float32Array.from({ length: 4 * 784 }, (_, i) => ((i * 13) % 89) / 89), shape: [4, 1, 28, 28] };
  const y = [0, 1, 2, 3];
  const a = await plain.lossAndGrad(x, y, 'margin');
  const c = await soft.lossAndGrad(x, y, 'margin');
  for (let i = 0; i < a.grad.data.length; i++) assert.ok(Math.abs(a.grad.data[i]! - c.grad.data[i]!) < 1e-6);
  for (let i = 0; i < a.logits.data.length; i++) assert.ok(Math.abs(a.logits.data[i]! - c.logits.data[i]!) < 1e-6);
  await plain.dispose();
  await soft.dispose();
});
