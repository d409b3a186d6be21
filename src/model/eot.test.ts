/**
 * EOT (issue acceptance): a classifier behind a random input transform (shift by up to ±2 pixels
 * and Gaussian noise σ = 0.2, drawn per call) looks more robust to plain PGD than it is; PGD on the
 * EOT oracle (8 samples per gradient) finds adversarial examples that survive the randomness.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runAttack } from '../attacks/attack.js';
import { PgdAttack } from '../attacks/pgd.js';
import { REFERENCE_DIR, referenceInputs, referenceModelPath } from '../attacks/testing/reference-data.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { eotOracle, randomizedModel, type RandomTransform } from './eot.js';
import { OnnxModel } from './onnx-model.js';
import { gradientOracle } from './oracles.js';

const MODEL = join(REFERENCE_DIR, '..', '..', '..', 'models', 'mnist-standard.onnx');
const N = 64;
const { x, y } = referenceInputs(N);
const SIDE = 28;

/** Shift each image by a random (dx, dy) ∈ [−2, 2]² (zero fill), then add N(0, 0.2²) noise. */
const shiftAndNoise: RandomTransform = (input, rng) => {
  const n = input.shape[0]!;
  const px = SIDE * SIDE;
  const shifts: [number, number][] = [];
  const out = new Float32Array(input.data.length);
  for (let i = 0; i < n; i++) {
    const [dx, dy] = [rng.integer(5) - 2, rng.integer(5) - 2];
    shifts.push([dx, dy]);
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        const [sr, sc] = [r - dy, c - dx];
        const v = sr >= 0 && sr < SIDE && sc >= 0 && sc < SIDE ? input.data[i * px + sr * SIDE + sc]! : 0;
        out[i * px + r * SIDE + c] = v + 0.2 * rng.normal();
      }
    }
  }
  const vjp = (g: Tensor): Tensor => {
    const back = new Float32Array(g.data.length);
    shifts.forEach(([dx, dy], i) => {
      for (let r = 0; r < SIDE; r++) {
        for (let c = 0; c < SIDE; c++) {
          const [sr, sc] = [r - dy, c - dx];
          if (sr >= 0 && sr < SIDE && sc >= 0 && sc < SIDE) back[i * px + sr * SIDE + sc]! += g.data[i * px + r * SIDE + c]!;
        }
      }
    });
    return { data: back, shape: [...g.shape] };
  };
  return { x: { data: out, shape: [...input.shape] }, vjp };
};

let base: OnnxModel;
before(async () => {
  base = await OnnxModel.load(MODEL, { threads: 2 });
});
after(async () => base.dispose());

/** Accuracy averaged over 10 fresh draws of the transform (the defense's expected accuracy). */
async function expectedAccuracy(points: Tensor): Promise<number> {
  let sum = 0;
  for (let t = 0; t < 10; t++) {
    const predicted = await base.predict(shiftAndNoise(points, new Rng(100 + t)).x);
    sum += predicted.reduce((s, p, i) => s + (p === y[i] ? 1 : 0), 0) / N;
  }
  return sum / 10;
}

test('on a deterministic model EOT changes nothing but the query count', async () => {
  const mlp = await OnnxModel.load(referenceModelPath('mnist_mlp'), { threads: 2 });
  try {
    const xs: Tensor = { data: x.data.slice(0, 4 * 784), shape: [4, 1, 28, 28] };
    const plain = await gradientOracle(mlp).lossAndGrad(xs, y.slice(0, 4), 'ce');
    const oracle = gradientOracle(mlp);
    const eot = await eotOracle(oracle, 5).lossAndGrad(xs, y.slice(0, 4), 'ce');
    assert.equal(oracle.queries, 20);
    eot.loss.forEach((v, i) => assert.ok(Math.abs(v - plain.loss[i]!) < 1e-5));
    eot.grad.data.forEach((v, i) => assert.ok(Math.abs(v - plain.grad.data[i]!) < 1e-5));
  } finally {
    await mlp.dispose();
  }
});

test('EOT-PGD lowers the expected accuracy of a randomised model well below what plain PGD reports (ε = 0.15, 64 images)', async () => {
  const model = randomizedModel(base, shiftAndNoise, new Rng(5));
  const clean = await expectedAccuracy(x);
  const pgd = new PgdAttack({ steps: 10, relStepsize: 0.25 });
  const plain = await runAttack(pgd, gradientOracle(model), x, y, { eps: 0.15, norm: 'linf', seed: 1 });
  const eot = await runAttack(pgd, eotOracle(gradientOracle(model), 8), x, y, { eps: 0.15, norm: 'linf', seed: 1 });
  const plainAccuracy = await expectedAccuracy(plain.clipped);
  const eotAccuracy = await expectedAccuracy(eot.clipped);
  // Measured: clean 0.88, plain PGD 0.70, EOT-PGD 0.50.
  assert.ok(clean >= 0.8, `clean expected accuracy ${clean}`);
  assert.ok(eotAccuracy <= plainAccuracy - 0.1, `expected accuracy after EOT-PGD ${eotAccuracy} vs plain PGD ${plainAccuracy}`);
  // Each EOT gradient is 8 queries per example.
  assert.equal(eot.queries % 8, 0);
  assert.ok(eot.queries > plain.queries, `EOT queries ${eot.queries}, plain ${plain.queries}`);
});
