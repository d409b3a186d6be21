import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_DIR } from '../attacks/testing/reference-data.js';
import { OnnxModel } from '../model/onnx-model.js';
import { float } from '../onnx/attributes.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { ModelIR } from '../onnx/model.js';
import { decodeTensor } from '../onnx/tensor-proto.js';
import { Rng } from '../random.js';
import { readNpy } from '../tensor/npy.js';
import { makeModel, maxAbsDiff, relativeToMax } from './testing/tiny-models.js';
import { Trainable } from './trainable.js';
import { buildTrainingGraph, dropoutMaskInput } from './training-graph.js';

/** test/fixtures/batchnorm, made by tools/make_batchnorm_reference.py with torch 1.13. */
const FIXTURES = join(REFERENCE_DIR, '..', 'batchnorm');

describe('training-mode BatchNorm matches PyTorch model.train() (two steps, torch 1.13)', () => {
  interface Reference {
    losses: number[];
    params: string[];
    momentum_onnx: number;
    epsilon: number;
    input_shape: number[];
  }
  const variants = {
    // Conv2d(1, 4, 3, pad 1) → BatchNorm2d(4) → ReLU → Flatten → Linear(256, 3)
    bn2d: (ref: Reference, p: (name: string) => [number[], Float32Array]) =>
      makeModel(['batch', 1, 8, 8], 3, (b, param) => {
        const w = (name: string): string => param(name, ...p(name));
        const conv = b.op('Conv', ['input', w('conv.weight'), w('conv.bias')], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'conv' });
        const bn = b.op(
          'BatchNormalization',
          [conv, w('bn.weight'), w('bn.bias'), w('bn.running_mean'), w('bn.running_var')],
          { epsilon: float(ref.epsilon), momentum: float(ref.momentum_onnx) },
          { name: 'bn' },
        );
        const flat = b.op('Flatten', [b.op('Relu', [bn])], { axis: 1 });
        b.node('Gemm', [flat, w('fc.weight'), w('fc.bias')], { transB: 1 }, { name: 'fc', outputNames: ['logits'] });
      }),
    // Linear(10, 5) → BatchNorm1d(5) → ReLU → Linear(5, 3)
    bn1d: (ref: Reference, p: (name: string) => [number[], Float32Array]) =>
      makeModel(['batch', 10], 3, (b, param) => {
        const w = (name: string): string => param(name, ...p(name));
        const fc0 = b.op('Gemm', ['input', w('fc0.weight'), w('fc0.bias')], { transB: 1 }, { name: 'fc0' });
        const bn = b.op(
          'BatchNormalization',
          [fc0, w('bn.weight'), w('bn.bias'), w('bn.running_mean'), w('bn.running_var')],
          { epsilon: float(ref.epsilon), momentum: float(ref.momentum_onnx) },
          { name: 'bn' },
        );
        b.node('Gemm', [b.op('Relu', [bn]), w('fc.weight'), w('fc.bias')], { transB: 1 }, { name: 'fc', outputNames: ['logits'] });
      }),
  };

  for (const [variant, build] of Object.entries(variants)) {
    test(`${variant}: loss, logits, every parameter gradient and the running statistics after each step; the exported model runs in eval mode like torch`, async (t) => {
      const dir = join(FIXTURES, variant);
      const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
      const npy = (file: string) => readNpy(join(dir, file));
      const f32 = (file: string): Float32Array => npy(file).data as Float32Array;
      const biasBeforeBn = variant === 'bn2d' ? 'conv.bias' : 'fc0.bias';
      const model = build(ref, (name) => {
        const a = npy(`param.${name}.npy`);
        return [[...a.shape], a.data as Float32Array];
      });
      const trainable = await Trainable.create(model, { threads: 1 });
      try {
        assert.equal(trainable.batchNormCount, 1);
        assert.deepEqual([...trainable.paramNames].sort(), [...ref.params].sort());
        const per = ref.input_shape.slice(1).reduce((a, c) => a * c, 1);
        const n = ref.input_shape[0]!;
        const x = f32('x.npy');
        const y = Int32Array.from(npy('y.npy').data as BigInt64Array, Number);
        const logits = f32('logits.npy');
        const means = f32('running_mean.npy');
        const vars = f32('running_var.npy');
        const channels = means.length / 3;
        // Before any step the state is torch's initial running statistics.
        assert.deepEqual(trainable.state.get('bn.running_mean'), means.slice(0, channels));
        let worstGrad = 0;
        let worstForward = 0;
        let worstStats = 0;
        for (let step = 0; step < 2; step++) {
          const out = await trainable.trainStep(x.slice(step * n * per, (step + 1) * n * per), n, y.slice(step * n, (step + 1) * n), new Rng(step));
          assert.ok(
            Math.abs(out.loss - ref.losses[step]!) <= 1e-5 * Math.abs(ref.losses[step]!),
            `step ${step + 1}: loss ${out.loss} vs torch ${ref.losses[step]}`,
          );
          const dLogits = relativeToMax(out.logits, logits.subarray(step * n * 3, (step + 1) * n * 3));
          assert.ok(dLogits <= 1e-5, `step ${step + 1}: train-mode logits deviate ${dLogits.toExponential(2)}`);
          worstForward = Math.max(worstForward, dLogits, Math.abs(out.loss - ref.losses[step]!) / Math.abs(ref.losses[step]!));
          for (const name of ref.params) {
            const both = f32(`grad.${name}.npy`);
            const expected = both.subarray((step * both.length) / 2, ((step + 1) * both.length) / 2);
            const got = out.grads.get(name)!;
            if (name === biasBeforeBn) {
              // BatchNorm subtracts the batch mean, so the bias before it has an exact gradient of 0;
              // torch and gibbon both leave rounding noise (~1e-8) there, which is all we can compare.
              for (const v of [...got, ...expected]) assert.ok(Math.abs(v) <= 1e-6, `step ${step + 1}: ${name} should have a zero gradient; got ${v}`);
              continue;
            }
            const d = relativeToMax(got, expected);
            worstGrad = Math.max(worstGrad, d);
            assert.ok(d <= 1e-5, `step ${step + 1}: grad of ${name} deviates ${d.toExponential(2)} relative to its max`);
          }
          const row = (a: Float32Array) => a.subarray((step + 1) * channels, (step + 2) * channels);
          const dMean = maxAbsDiff(trainable.state.get('bn.running_mean')!, row(means));
          const dVar = maxAbsDiff(trainable.state.get('bn.running_var')!, row(vars));
          worstStats = Math.max(worstStats, dMean, dVar);
          assert.ok(dMean <= 1e-6, `step ${step + 1}: running_mean deviates ${dMean.toExponential(2)}`);
          assert.ok(dVar <= 1e-6, `step ${step + 1}: running_var deviates ${dVar.toExponential(2)}`);
          // The statistics really moved (momentum 0.1 of a batch far from the running values).
          assert.ok(maxAbsDiff(row(vars), vars.subarray(step * channels, (step + 1) * channels)) > 1e-2);
        }
        t.diagnostic(
          `${variant}: max deviation of loss and train-mode logits ${worstForward.toExponential(2)}, gradients ${worstGrad.toExponential(2)} (relative to max), running statistics ${worstStats.toExponential(2)} (absolute)`,
        );

        // The exported inference model carries the updated statistics and runs in eval mode as torch does.
        const exported = trainable.exportModel();
        for (const [name, torch] of [
          ['bn.running_mean', means],
          ['bn.running_var', vars],
        ] as const) {
          const carried = decodeTensor(exported.graph.initializers.get(name)!).data as Float32Array;
          assert.deepEqual(carried, trainable.state.get(name));
          assert.ok(maxAbsDiff(carried, torch.subarray(2 * channels)) <= 1e-6);
        }
        assert.ok(exported.graph.nodes.some((node) => node.opType === 'BatchNormalization'));
        const onnx = await OnnxModel.load(exported, { threads: 1 });
        try {
          const evalLogits = (await onnx.logits({ data: x.slice(0, n * per), shape: [n, ...ref.input_shape.slice(1)] })).data;
          const d = relativeToMax(evalLogits, f32('eval_logits.npy'));
          t.diagnostic(`${variant}: eval-mode logits of the exported model deviate ${d.toExponential(2)} from torch`);
          assert.ok(d <= 1e-5, `eval logits deviate ${d.toExponential(2)}`);
          // The trainable's own eval-mode forward agrees.
          assert.ok(relativeToMax(await trainable.logits(x.slice(0, n * per), n), evalLogits) <= 1e-6);
        } finally {
          await onnx.dispose();
        }
      } finally {
        await trainable.dispose();
      }
    });
  }
});

describe('training-mode Dropout', () => {
  // x (1, D) of ones → Dropout(0.5) → Linear(D, 2) with W = [c…c; 0…0], b = 0. With label 1 the
  // gradient of W[0, j] is p0·m_j (p0 = softmax(z)_0, m_j the mask value of unit j), that of
  // W[1, j] is −p0·m_j, and z0 = c·Σ_j m_j.
  const D = 10000;
  const c = 1e-3;
  const model = (): ModelIR =>
    makeModel(['batch', D], 2, (b, param) => {
      const ratio = param('dropout.ratio', [], Float32Array.of(0.5));
      const dropped = b.op('Dropout', ['input', ratio], {}, { name: 'dropout' });
      const w = new Float32Array(2 * D);
      w.fill(c, 0, D);
      b.node(
        'Gemm',
        [dropped, param('fc.weight', [2, D], w), param('fc.bias', [2], new Float32Array(2))],
        { transB: 1 },
        { name: 'fc', outputNames: ['logits'] },
      );
    });
  const ones = new Float32Array(D).fill(1);

  test('the mask drops half the units (10k draws), kept units are scaled by 2, dropped units get zero gradient; same seed, same mask', async () => {
    const trainable = await Trainable.create(model(), { threads: 1 });
    try {
      assert.equal(trainable.dropoutCount, 1);
      assert.deepEqual([...trainable.paramNames], ['fc.weight', 'fc.bias']);
      const step = (seed: number) => trainable.trainStep(ones, 1, Int32Array.of(1), new Rng(seed));
      const out = await step(7);
      const z0 = out.logits[0]!;
      const p0 = 1 / (1 + Math.exp(out.logits[1]! - z0));
      const gw = out.grads.get('fc.weight')!;
      let dropped = 0;
      for (let j = 0; j < D; j++) {
        const m = gw[j]! / p0; // the mask value of unit j
        if (m === 0) dropped++;
        else assert.ok(Math.abs(m - 2) < 1e-5, `unit ${j}: kept with scale ${m}, expected 2`);
        if (m === 0) assert.equal(gw[D + j], 0, `dropped unit ${j} has a gradient`);
      }
      const fraction = dropped / D;
      assert.ok(Math.abs(fraction - 0.5) <= 0.02, `dropped fraction ${fraction}`);
      // z0 = c · Σ_j m_j = c · 2 · kept.
      assert.ok(Math.abs(z0 - c * 2 * (D - dropped)) <= 1e-4 * z0, `logit ${z0} vs c·2·kept ${c * 2 * (D - dropped)}`);

      const again = await step(7);
      assert.deepEqual(again.grads.get('fc.weight'), gw);
      assert.equal(again.logits[0], z0);
      const other = await step(8);
      assert.notDeepEqual(other.grads.get('fc.weight'), gw);

      // Eval mode and the exported model: Dropout is the identity (z0 = c·D, deterministic).
      assert.ok(Math.abs((await trainable.logits(ones, 1))[0]! - c * D) <= 1e-4 * c * D);
      const exported = trainable.exportModel();
      const node = exported.graph.nodes.find((n) => n.opType === 'Dropout');
      assert.ok(node, 'the exported model keeps its Dropout node');
      assert.ok(!node.inputs[2], 'inference Dropout (no training_mode input)');
      const onnx = await OnnxModel.load(exported, { threads: 1 });
      try {
        const z = (await onnx.logits({ data: ones, shape: [1, D] })).data;
        assert.ok(Math.abs(z[0]! - c * D) <= 1e-4 * c * D, `exported logit ${z[0]}`);
      } finally {
        await onnx.dispose();
      }
    } finally {
      await trainable.dispose();
    }
  });

  test('the training graph feeds one mask input per Dropout, shaped like its input', async () => {
    const g = await buildTrainingGraph(model(), { mode: 'train', head: { type: 'ce', reduction: 'mean' } });
    assert.equal(g.dropouts.length, 1);
    const node = model().graph.nodes.find((n) => n.opType === 'Dropout')!.name;
    assert.deepEqual(g.dropouts[0], { node, maskInput: dropoutMaskInput(node), ratio: 0.5, shape: [null, D] });
    assert.ok(g.model.graph.inputs.some((v) => v.name === dropoutMaskInput(node)));
    assert.ok(!g.model.graph.nodes.some((n) => n.opType === 'Dropout'));
    const evalGraph = await buildTrainingGraph(model(), { mode: 'eval', head: { type: 'ce', reduction: 'mean' } });
    assert.equal(evalGraph.dropouts.length, 0);
  });
});

describe('class scores as grad reads them', () => {
  /** x (N, 3) → Gemm → s (N, 1) → Sigmoid: a binary detector with one score. */
  const w = Float32Array.of(0.8, -1.1, 0.4);
  const bias = 0.2;
  const sigmoidModel = (): ModelIR => {
    const m = makeModel(['batch', 3], 1, (b, param) => {
      const s = b.op('Gemm', ['input', param('w', [1, 3], w), param('b', [1], Float32Array.of(bias))], { transB: 1 });
      b.node('Sigmoid', [s], {}, { outputNames: ['logits'] });
    });
    m.graph.outputs = [{ name: 'prob', dataType: DT.FLOAT, shape: ['batch', 1] }];
    for (const n of m.graph.nodes) n.outputs = n.outputs.map((o) => (o === 'logits' ? 'prob' : o));
    return m;
  };

  test('a final Sigmoid over one score trains as the logits (0, s): mean binary cross-entropy and its gradient (σ(s) − y)·x', async () => {
    const trainable = await Trainable.create(sigmoidModel(), { threads: 1 });
    try {
      assert.equal(trainable.numClasses, 2);
      const x = Float32Array.of(0.5, 0.1, 0.9, -0.3, 0.7, 0.2, 1.0, -1.0, 0.0);
      const y = Int32Array.of(1, 0, 1);
      const out = await trainable.trainStep(x, 3, y, new Rng(0));
      let loss = 0;
      const gw = new Float64Array(3);
      let gb = 0;
      for (let i = 0; i < 3; i++) {
        const s = bias + w.reduce((a, wj, j) => a + wj * x[i * 3 + j]!, 0);
        const p = 1 / (1 + Math.exp(-s));
        loss -= (y[i] === 1 ? Math.log(p) : Math.log(1 - p)) / 3;
        for (let j = 0; j < 3; j++) gw[j]! += ((p - y[i]!) * x[i * 3 + j]!) / 3;
        gb += (p - y[i]!) / 3;
        // The logits are (0, s), not σ(s).
        assert.ok(Math.abs(out.logits[2 * i]!) < 1e-7 && Math.abs(out.logits[2 * i + 1]! - s) < 1e-5);
      }
      assert.ok(Math.abs(out.loss - loss) < 1e-5, `loss ${out.loss} vs ${loss}`);
      assert.ok(maxAbsDiff(out.grads.get('w')!, gw) < 1e-5);
      assert.ok(Math.abs(out.grads.get('b')![0]! - gb) < 1e-5);
      const eval2 = await trainable.logits(x, 3);
      assert.ok(relativeToMax(eval2, out.logits) < 1e-6, 'the forward graph gives the same (N, 2) scores');
    } finally {
      await trainable.dispose();
    }
  });
});
