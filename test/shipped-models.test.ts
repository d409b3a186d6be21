/**
 * Models as shipped (test/fixtures/zoo, exported from PyTorch without edits): fixed batch 1,
 * one sigmoid score, Softmax before opset 13, dynamic H/W, several inputs, dense-map and
 * embedding outputs, normalised 0–255 inputs. Gradients are checked against central finite
 * differences of the model's own loss along random directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LossName } from '../src/autodiff/loss-heads.js';
import { OnnxModel, type OnnxModelOptions } from '../src/model/onnx-model.js';
import { readNpy, toFloat32 } from '../src/tensor/npy.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { GibbonError } from '../src/errors.js';

const ZOO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'zoo');
const file = (name: string): string => join(ZOO, `${name}.onnx`);
function inputs(name: string, scale = 1): Tensor {
  const t = readNpy(join(ZOO, `${name}.x.npy`));
  return { data: Float32Array.from(toFloat32(t), (v) => v * scale), shape: [...t.shape] };
}

/** Central finite differences of Σ loss along the coordinates with the largest gradients (a wrong rule cannot hide there). */
async function checkGradient(model: OnnxModel, x: Tensor, labels: number[], loss: LossName, h: number, tol = 5e-2): Promise<void> {
  const { grad, loss: l0 } = await model.lossAndGrad(x, labels, loss);
  assert.equal(l0.length, labels.length);
  assert.ok(
    grad.data.some((v) => v !== 0),
    'gradient is not all zero',
  );
  const order = Array.from(grad.data.keys()).sort((a, b) => Math.abs(grad.data[b]!) - Math.abs(grad.data[a]!));
  const largest = Math.abs(grad.data[order[0]!]!);
  const sum = (a: Float32Array): number => a.reduce((s, v) => s + v, 0);
  for (const i of order.slice(0, 4)) {
    const at = (s: number): Tensor => {
      const data = Float32Array.from(x.data);
      data[i]! += s * h;
      return { data, shape: x.shape };
    };
    const fd = (sum((await model.lossAndGrad(at(1), labels, loss)).loss) - sum((await model.lossAndGrad(at(-1), labels, loss)).loss)) / (2 * h);
    const g = grad.data[i]!;
    assert.ok(Math.abs(fd - g) <= tol * Math.abs(g) + 1e-2 * largest, `${loss}: coordinate ${i}: finite difference ${fd} vs analytic ${g}`);
  }
}

async function withModel(name: string, options: OnnxModelOptions, fn: (m: OnnxModel) => Promise<void>): Promise<void> {
  const m = await OnnxModel.load(file(name), { threads: 1, ...options });
  try {
    await fn(m);
  } finally {
    await m.dispose();
  }
}

test('fixed batch 1: gradients of every loss row by row, parameter gradients summed over rows', async () => {
  await withModel('mlp_fixed1_op9', {}, async (m) => {
    assert.equal(m.fixedBatch, 1);
    const x = inputs('mlp_fixed1_op9');
    for (const loss of ['ce', 'margin', 'dlr'] as const) await checkGradient(m, x, [0, 1, 2, 3], loss, 1e-2);
    // Row i's gradient is example i's own: the same as running it alone.
    const all = await m.lossAndGrad(x, [0, 1, 2, 3], 'ce');
    const one = await m.lossAndGrad({ data: x.data.slice(20, 40), shape: [1, 20] }, [1], 'ce');
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(all.grad.data[20 + i]! - one.grad.data[i]!) < 1e-6);
    const p = await m.paramGrads(x, [0, 1, 2, 3]);
    const p0 = await m.paramGrads({ data: x.data.slice(0, 20), shape: [1, 20] }, [0]);
    assert.ok(p.grads.size >= 4);
    const name = [...p.grads.keys()][0]!;
    assert.notDeepEqual(p.grads.get(name)!.data, p0.grads.get(name)!.data);
  });
  await withModel('audio_conv1d_fixed1_op12', {}, async (m) => {
    await checkGradient(m, inputs('audio_conv1d_fixed1_op12'), [0, 1, 2], 'margin', 100);
  });
});

test('one sigmoid score is a binary classifier: logits (0, s), CE = −log σ(±s), a gradient that is not zero', async () => {
  await withModel('sigmoid_detector_op13', {}, async (m) => {
    assert.equal(m.numClasses, 2);
    assert.equal(m.classScores.binary, true);
    assert.equal(m.classScores.source, 'sigmoid-input');
    const x = inputs('sigmoid_detector_op13');
    const labels = [0, 1, 0, 1, 1, 0];
    const r = await m.lossAndGrad(x, labels, 'ce');
    for (let i = 0; i < labels.length; i++) {
      assert.equal(r.logits.data[2 * i], 0);
      const s = r.logits.data[2 * i + 1]!;
      const expected = labels[i] === 1 ? Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
      assert.ok(Math.abs(r.loss[i]! - expected) < 1e-5, `example ${i}: ${r.loss[i]} vs ${expected}`);
    }
    await checkGradient(m, x, labels, 'ce', 1e-2);
    await checkGradient(m, x, labels, 'margin', 1e-2);
  });
});

test('Softmax before opset 13 (Flatten → Softmax → Reshape) is read as probabilities; CE is taken on its logits', async () => {
  await withModel('softmax_cnn_op10', {}, async (m) => {
    assert.equal(m.outputsProbabilities, true);
    assert.equal(m.classScores.source, 'softmax-input');
    const x = inputs('softmax_cnn_op10');
    const z = await m.logits(x);
    // Logits, not probabilities: rows do not sum to 1 and the loss is logsumexp(z) − z_y.
    const row = z.data.slice(0, 10);
    assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) > 1e-3);
    const r = await m.lossAndGrad(x, [3, 3, 3, 3], 'ce');
    const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    assert.ok(Math.abs(r.loss[0]! - (lse - row[3]!)) < 1e-5);
    await checkGradient(m, x, [3, 4, 3, 3], 'ce', 1e-2);
  });
});

test('dynamic H and W are taken from the data; without sizes the error names the input', async () => {
  const x = inputs('cnn_dynamic_hw_op11');
  // Without sizes the forward pass runs at any size; a gradient graph needs them.
  await withModel('cnn_dynamic_hw_op11', {}, async (m) => {
    assert.deepEqual((await m.logits(x)).shape, [4, 6]);
    await assert.rejects(m.lossAndGrad(x, [0, 1, 2, 3], 'ce'), (e: GibbonError) => /input 'image' has a symbolic dimension 2/.test(e.message));
  });
  await withModel('cnn_dynamic_hw_op11', { exampleShape: x.shape.slice(1) }, async (m) => {
    assert.deepEqual(m.inputShape, [null, 3, 20, 28]);
    await checkGradient(m, x, [0, 1, 2, 3], 'ce', 1e-2);
  });
});

test('several inputs: the others are fed, the chosen one differentiated; the chosen output read', async () => {
  const name = 'vad_three_inputs_op16';
  await assert.rejects(OnnxModel.load(file(name), { threads: 1 }), (e: GibbonError) => /'state', 'sr' besides 'input'/.test(e.message));
  const state = readNpy(join(ZOO, `${name}.feeds`, 'state.npy'));
  const options: OnnxModelOptions = { input: 'input', feeds: { state, sr: 16000 }, output: 'output' };
  await withModel(name, options, async (m) => {
    assert.equal(m.inputName, 'input');
    assert.equal(m.numClasses, 2);
    await checkGradient(m, inputs(name), [0, 1, 1], 'ce', 1e-2);
  });
  // The sample rate reaches the model: another rate changes the scores.
  const a = await OnnxModel.load(file(name), { threads: 1, ...options });
  const b = await OnnxModel.load(file(name), { threads: 1, ...options, feeds: { state, sr: 8000 } });
  const za = await a.logits(inputs(name));
  const zb = await b.logits(inputs(name));
  assert.ok(za.data.some((v, i) => Math.abs(v - zb.data[i]!) > 1e-6));
  await a.dispose();
  await b.dispose();
  await assert.rejects(OnnxModel.load(file(name), { threads: 1, ...options, feeds: { state, sr: 1.5 } }), /holds int64 but the value has 1.5/);
});

test('a dense map needs a reduction, then is a binary classifier on the mean (or max) of its logits', async () => {
  const name = 'segmentation_map_op13';
  const x = inputs(name);
  await assert.rejects(OnnxModel.load(file(name), { threads: 1, exampleShape: x.shape.slice(1) }), (e: GibbonError) => e.location.option === 'outputReduce');
  for (const reduce of ['mean', 'max'] as const) {
    await withModel(name, { exampleShape: x.shape.slice(1), outputReduce: reduce }, async (m) => {
      assert.equal(m.numClasses, 2);
      await checkGradient(m, x, [1, 0], 'ce', 1e-2);
    });
  }
});

test('an embedding (N, 1, 1, D) reads as D scores without options', async () => {
  await withModel('embedding_n11d_op14', {}, async (m) => {
    assert.equal(m.numClasses, 8);
    await checkGradient(m, inputs('embedding_n11d_op14'), [0, 1, 2], 'margin', 1e-2);
  });
});

test('normalisation in front of the model: raw 0–255 inputs give the logits of (x − mean)/std, gradients in raw units', async () => {
  const name = 'normalised_input_op15';
  const mean = [123.675, 116.28, 103.53];
  const std = [58.395, 57.12, 57.375];
  const raw = inputs(name); // uint8 values as they are: the domain is [0, 255]
  const normalised: Tensor = {
    data: Float32Array.from(raw.data, (v, i) => (v - mean[Math.floor(i / 1024) % 3]!) / std[Math.floor(i / 1024) % 3]!),
    shape: raw.shape,
  };
  await withModel(name, {}, async (plain) => {
    await withModel(name, { normalization: { mean, std } }, async (m) => {
      const a = await plain.logits(normalised);
      const b = await m.logits(raw);
      for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i]! - b.data[i]!) < 1e-4);
      const ga = await plain.lossAndGrad(normalised, [0, 1, 2], 'ce');
      const gb = await m.lossAndGrad(raw, [0, 1, 2], 'ce');
      // Chain rule: d/dx_raw = d/dx_norm / std.
      for (let i = 0; i < ga.grad.data.length; i++) {
        const c = Math.floor(i / 1024) % 3;
        assert.ok(Math.abs(ga.grad.data[i]! / std[c]! - gb.grad.data[i]!) < 1e-5 + 1e-3 * Math.abs(gb.grad.data[i]!));
      }
      await checkGradient(m, raw, [0, 1, 2], 'ce', 0.5);
    });
  });
});

test('embedding loss: squared distance from a reference embedding, zero at the reference, gradient against finite differences', async () => {
  await withModel('embedding_n11d_op14', {}, async (m) => {
    const x = inputs('embedding_n11d_op14');
    const clean = await m.logits(x);
    const at = await m.embeddingDistanceAndGrad(x, clean);
    assert.ok(at.loss.every((v) => Math.abs(v) < 1e-10));
    assert.ok(at.grad.data.every((v) => v === 0));
    // From a shifted point: the distance and its gradient.
    const moved: Tensor = { data: Float32Array.from(x.data, (v, i) => v + 0.05 * Math.sin(i)), shape: x.shape };
    const r = await m.embeddingDistanceAndGrad(moved, clean);
    const e = await m.logits(moved);
    for (let n = 0; n < 3; n++) {
      let d = 0;
      for (let k = 0; k < 8; k++) d += (e.data[n * 8 + k]! - clean.data[n * 8 + k]!) ** 2;
      assert.ok(Math.abs(r.loss[n]! - d) < 1e-6 + 1e-4 * d);
    }
    const order = Array.from(r.grad.data.keys()).sort((a, b) => Math.abs(r.grad.data[b]!) - Math.abs(r.grad.data[a]!));
    const h = 1e-2;
    for (const i of order.slice(0, 3)) {
      const shift = (s: number): Tensor => {
        const data = Float32Array.from(moved.data);
        data[i]! += s * h;
        return { data, shape: x.shape };
      };
      const sum = async (t: Tensor): Promise<number> => (await m.embeddingDistanceAndGrad(t, clean)).loss.reduce((a, v) => a + v, 0);
      const fd = ((await sum(shift(1))) - (await sum(shift(-1)))) / (2 * h);
      assert.ok(Math.abs(fd - r.grad.data[i]!) < 5e-2 * Math.abs(r.grad.data[i]!) + 1e-5, `coordinate ${i}: ${fd} vs ${r.grad.data[i]}`);
    }
  });
});

test('a detector on a sigmoid model sees two classes: MSP score = max(σ(s), 1 − σ(s))', async () => {
  const { buildDetectorModel, LOGITS_OUTPUT, SCORE_OUTPUT } = await import('../src/defenses/detectors/detector.js');
  const { loadModel, serializeModel } = await import('../src/onnx/model.js');
  const { Session } = await import('../src/runtime/session.js');
  const equipped = buildDetectorModel(loadModel(file('sigmoid_detector_op13')), { kind: 'msp' } as never);
  const session = await Session.create(serializeModel(equipped), { threads: 1 });
  try {
    const x = inputs('sigmoid_detector_op13');
    const r = await session.run({ x: { type: 'float32', data: x.data, shape: x.shape } });
    const z = r[LOGITS_OUTPUT]!;
    assert.deepEqual(z.shape, [6, 2]);
    const score = r[SCORE_OUTPUT]!.data as Float32Array;
    for (let i = 0; i < 6; i++) {
      const p = 1 / (1 + Math.exp(-(z.data as Float32Array)[2 * i + 1]!));
      const msp = Math.max(p, 1 - p);
      // The MSP detector's score grows with suspicion: compare up to its sign convention.
      assert.ok(Math.abs(Math.abs(score[i]!) - msp) < 1e-5, `example ${i}: score ${score[i]} vs msp ${msp}`);
    }
  } finally {
    await session.dispose();
  }
});
