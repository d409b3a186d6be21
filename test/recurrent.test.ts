/**
 * LSTM/GRU/RNN models as PyTorch exports them: input and first-layer W/R/B gradients of the summed
 * cross-entropy against torch autograd (test/fixtures/recurrent, made by tools/recurrent/export_recurrent_reference.py),
 * and the zoo's LSTM classifier and fixed-batch 2-layer GRU against finite differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkModelGradient } from '../src/autodiff/testing/model-gradcheck.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { loadModel } from '../src/onnx/model.js';
import { readNpy, toFloat32 } from '../src/tensor/npy.js';
import type { Tensor } from '../src/tensor/tensor.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures');
const REFERENCE = join(FIXTURES, 'recurrent');

function load(path: string): Tensor {
  const t = readNpy(path);
  return { data: toFloat32(t), shape: t.shape };
}

/** max over entries of |a − r| / (absTol·max|r| + relTol·|r|); ≤ 1 passes. */
function worstRatio(actual: Float32Array, ref: Float32Array, absTol: number, relTol: number): number {
  assert.equal(actual.length, ref.length);
  const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - ref[i]!) / (absTol * maxRef + relTol * Math.abs(ref[i]!) + 1e-30));
  return worst;
}

const manifest = JSON.parse(readFileSync(join(REFERENCE, 'manifest.json'), 'utf8')) as Record<
  string,
  { exercises: string[]; param_grads: Record<string, string> }
>;

for (const [name, entry] of Object.entries(manifest)) {
  test(`${name} (${entry.exercises.join(', ')}): logits, CE input gradient and W/R/B gradients match PyTorch`, async () => {
    const model = await OnnxModel.load(join(REFERENCE, `${name}.onnx`), { threads: 1 });
    try {
      const x = load(join(REFERENCE, `${name}.x.npy`));
      const y = Int32Array.from(readNpy(join(REFERENCE, `${name}.y.npy`)).data as BigInt64Array, Number);
      const r = await model.lossAndGrad(x, y, 'ce');
      assert.deepEqual([...r.grad.shape], [...x.shape]);
      const grad = worstRatio(r.grad.data, load(join(REFERENCE, `${name}.grad_ce.npy`)).data, 1e-4, 1e-3);
      assert.ok(grad <= 1, `gradient: worst error is ${grad.toFixed(3)}× the tolerance`);
      // The first recurrent layer's W, R and B (PyTorch's weights, gates reordered as ONNX has them).
      const { grads } = await model.paramGrads(x, y, 'ce', 'sum');
      for (const [param, file] of Object.entries(entry.param_grads)) {
        const g = grads.get(param);
        assert.ok(g, `no gradient for ${param}`);
        const ref = load(join(REFERENCE, file));
        assert.deepEqual([...g.shape], [...ref.shape], `${param} shape`);
        const ratio = worstRatio(g.data, ref.data, 1e-4, 1e-3);
        assert.ok(ratio <= 1, `gradient of ${param}: worst error is ${ratio.toFixed(3)}× the tolerance`);
      }
      // The gradient graph computes the logits on the unrolled form, predictions on the native op.
      const logitsRef = load(join(REFERENCE, `${name}.logits.npy`)).data;
      for (const [what, z] of [
        ['gradient graph', r.logits.data],
        ['native', (await model.logits(x)).data],
      ] as const) {
        const ratio = worstRatio(z, logitsRef, 1e-5, 1e-5);
        assert.ok(ratio <= 1, `${what} logits: worst error is ${ratio.toFixed(3)}× the tolerance`);
      }
    } finally {
      await model.dispose();
    }
  });
}

for (const name of ['lstm_classifier_op13', 'gru_wakeword_fixed1_op14']) {
  test(`zoo ${name}: input gradient against finite differences of the native model`, async () => {
    const model = loadModel(join(FIXTURES, 'zoo', `${name}.onnx`));
    const x = load(join(FIXTURES, 'zoo', `${name}.x.npy`));
    const batch = model.graph.inputs[0]!.shape![0] === 1 ? 1 : x.shape[0]!;
    const per = x.data.length / x.shape[0]!;
    const input = model.graph.inputs[0]!.name;
    const feeds = { [input]: { type: 'float32' as const, data: x.data.slice(0, batch * per), shape: [batch, ...x.shape.slice(1)] } };
    const r = await checkModelGradient(model, feeds, { wrt: [input], maxEntries: 24, step: 1e-2, atol: 1e-3, rtol: 2e-2, seed: 3 });
    assert.equal(r.checked, 24);
    assert.ok(r.analytic[0]!.some((v) => v !== 0));
  });
}
