import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { misclassification } from '../criteria/misclassification.js';
import { OnnxModel } from '../model/onnx-model.js';
import { scoreOracle } from '../model/oracles.js';
import { Rng } from '../random.js';
import { rowSize } from '../tensor/rows.js';
import { estimateGradient, scoreLosses } from './gradient-estimation.js';
import { referenceInputs, referenceModelPath } from './testing/reference-data.js';

const { x, y } = referenceInputs(8);
let model: OnnxModel;
before(async () => {
  model = await OnnxModel.load(referenceModelPath('mnist_mlp'), { threads: 2 });
});
after(async () => model.dispose());

function cosines(a: Float32Array, b: Float32Array, row: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length / row; i++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let j = i * row; j < (i + 1) * row; j++) {
      ab += a[j]! * b[j]!;
      aa += a[j]! ** 2;
      bb += b[j]! ** 2;
    }
    out.push(ab / Math.sqrt(aa * bb));
  }
  return out;
}

test('score losses: cross-entropy and margin from logits agree with the definitions', () => {
  const criterion = misclassification(Int32Array.of(0), 3);
  const z = { data: Float32Array.of(2, 1, 0), shape: [1, 3] };
  const ce = scoreLosses('ce', criterion, z, [0])[0]!;
  assert.ok(Math.abs(ce - (Math.log(Math.exp(2) + Math.exp(1) + 1) - 2)) < 1e-6);
  assert.equal(scoreLosses('margin', criterion, z, [0])[0], -1);
});

test('NES and SPSA estimates point along the true gradient (cosine > 0.25 with 400 samples on 784 inputs)', async () => {
  const oracle = scoreOracle(model);
  const criterion = misclassification(y, 10);
  const examples = Int32Array.from(y.keys());
  const exact = await model.lossAndGrad(x, y, 'ce');
  for (const direction of ['gaussian', 'rademacher'] as const) {
    const g = await estimateGradient(oracle, x, examples, criterion, { samples: 400, scale: 0.001, direction, loss: 'ce' }, new Rng(1));
    const c = cosines(g.data, exact.grad.data, rowSize(x));
    const mean = c.reduce((a, b) => a + b, 0) / c.length;
    assert.ok(mean > 0.25, `${direction}: mean cosine ${mean.toFixed(3)} (${c.map((v) => v.toFixed(2)).join(', ')})`);
  }
  assert.equal(oracle.queries, 2 * 400 * 8);
});
