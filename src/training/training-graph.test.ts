import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { REFERENCE_DIR } from '../attacks/testing/reference-data.js';
import { OnnxModel } from '../model/onnx-model.js';
import { float } from '../onnx/attributes.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { decodeTensor, encodeTensor } from '../onnx/tensor-proto.js';
import { Rng } from '../random.js';
import { readNpy } from '../tensor/npy.js';
import { Trainable } from './trainable.js';
import { buildTrainingGraph, dropoutMaskInput } from './training-graph.js';

/** test/fixtures/batchnorm, made by tools/make_batchnorm_reference.py with torch 1.13. */
const FIXTURES = join(REFERENCE_DIR, '..', 'batchnorm');

/** A model of opset 17 whose graph `build` fills (input 'input', output 'logits'). */
function makeModel(
  inputShape: (number | string)[],
  classes: number,
  build: (b: GraphBuilder, param: (name: string, dims: number[], data: Float32Array) => string) => void,
): ModelIR {
  const graph: Graph = {
    name: 'test',
    nodes: [],
    inputs: [{ name: 'input', dataType: DT.FLOAT, shape: inputShape }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['batch', classes] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 'test');
  build(b, (name, dims, data) => {
    graph.initializers.set(name, encodeTensor(name, DT.FLOAT, dims, data));
    return name;
  });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })] });
  return { proto, graph, opset: 17 };
}

/** max |a − b| / max |b| (the deviation relative to the largest reference value). */
function relativeToMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

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

describe('loss heads against finite differences of an independent JS loss', () => {
  // A smooth tiny model: x (N, 4) → Linear(4, 5) → Tanh → Linear(5, 3).
  const rng = new Rng(11);
  const init = {
    'fc1.weight': { dims: [5, 4], data: Float64Array.from({ length: 20 }, () => rng.uniformIn(-0.9, 0.9)) },
    'fc1.bias': { dims: [5], data: Float64Array.from({ length: 5 }, () => rng.uniformIn(-0.3, 0.3)) },
    'fc2.weight': { dims: [3, 5], data: Float64Array.from({ length: 15 }, () => rng.uniformIn(-1.2, 1.2)) },
    'fc2.bias': { dims: [3], data: Float64Array.from({ length: 3 }, () => rng.uniformIn(-0.3, 0.3)) },
  };
  type Params = Record<keyof typeof init, Float64Array>;
  const model = (): ModelIR =>
    makeModel(['batch', 4], 3, (b, param) => {
      const w = (name: keyof typeof init): string => param(name, init[name].dims, Float32Array.from(init[name].data));
      const h = b.op('Tanh', [b.op('Gemm', ['input', w('fc1.weight'), w('fc1.bias')], { transB: 1 })]);
      b.node('Gemm', [h, w('fc2.weight'), w('fc2.bias')], { transB: 1 }, { outputNames: ['logits'] });
    });
  // Parameters and inputs are float32 values (the graph sees exactly these), carried in float64.
  const f32 = (a: Float64Array): Float64Array => Float64Array.from(Float32Array.from(a));
  const params = (): Params => ({
    'fc1.weight': f32(init['fc1.weight'].data),
    'fc1.bias': f32(init['fc1.bias'].data),
    'fc2.weight': f32(init['fc2.weight'].data),
    'fc2.bias': f32(init['fc2.bias'].data),
  });

  /** Log-probabilities of every row, in float64. */
  function logProbs(p: Params, x: Float64Array, rows: number): Float64Array[] {
    const out: Float64Array[] = [];
    for (let r = 0; r < rows; r++) {
      const h = new Float64Array(5);
      for (let j = 0; j < 5; j++) {
        let s = p['fc1.bias'][j]!;
        for (let i = 0; i < 4; i++) s += p['fc1.weight'][j * 4 + i]! * x[r * 4 + i]!;
        h[j] = Math.tanh(s);
      }
      const z = new Float64Array(3);
      for (let k = 0; k < 3; k++) {
        let s = p['fc2.bias'][k]!;
        for (let j = 0; j < 5; j++) s += p['fc2.weight'][k * 5 + j]! * h[j]!;
        z[k] = s;
      }
      const max = Math.max(...z);
      const lse = max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
      out.push(z.map((v) => v - lse));
    }
    return out;
  }

  const n = 4;
  const xClean = f32(Float64Array.from({ length: n * 4 }, () => rng.uniformIn(-1, 1)));
  const xAdv = f32(xClean.map((v) => v + rng.uniformIn(-0.4, 0.4)));
  const y = Int32Array.of(0, 2, 1, 2);
  const beta = 3;

  /** mean_i CE(z_clean_i, y_i) + β · mean_i KL(p_clean_i ‖ p_adv_i), written out independently. */
  function tradesLoss(p: Params): number {
    const lc = logProbs(p, xClean, n);
    const la = logProbs(p, xAdv, n);
    let ce = 0;
    let kl = 0;
    for (let i = 0; i < n; i++) {
      ce -= lc[i]![y[i]!]!;
      for (let k = 0; k < 3; k++) kl += Math.exp(lc[i]![k]!) * (lc[i]![k]! - la[i]![k]!);
    }
    return ce / n + (beta * kl) / n;
  }

  test('TRADES head: the loss and every parameter gradient of the training graph match central differences (float64)', async (t) => {
    const trainable = await Trainable.create(model(), { threads: 1, trades: true });
    try {
      const x = new Float32Array(2 * n * 4);
      x.set(Float32Array.from(xClean), 0);
      x.set(Float32Array.from(xAdv), n * 4);
      const out = await trainable.trainStep(x, 2 * n, y, new Rng(0), beta);
      const base = params();
      const expectedLoss = tradesLoss(base);
      assert.ok(Math.abs(out.loss - expectedLoss) <= 1e-5 * Math.abs(expectedLoss), `loss ${out.loss} vs ${expectedLoss}`);
      let worst = 0;
      for (const name of Object.keys(init) as (keyof typeof init)[]) {
        const numeric = new Float64Array(base[name].length);
        for (let i = 0; i < numeric.length; i++) {
          const h = 1e-5;
          const plus = params();
          plus[name][i]! += h;
          const minus = params();
          minus[name][i]! -= h;
          numeric[i] = (tradesLoss(plus) - tradesLoss(minus)) / (2 * h);
        }
        const d = relativeToMax(out.grads.get(name)!, numeric);
        worst = Math.max(worst, d);
        assert.ok(d <= 1e-4, `${name}: gradient deviates ${d.toExponential(2)} relative to its max`);
      }
      t.diagnostic(`TRADES parameter gradients vs finite differences: max deviation ${worst.toExponential(2)} (relative to max)`);
      // β = 0 leaves the clean cross-entropy: the adversarial half gets no gradient.
      const ceOnly = await trainable.trainStep(x, 2 * n, y, new Rng(0), 0);
      const ce = logProbs(base, xClean, n).reduce((a, l, i) => a - l[y[i]!]!, 0) / n;
      assert.ok(Math.abs(ceOnly.loss - ce) <= 1e-5 * ce);
    } finally {
      await trainable.dispose();
    }
  });

  test('KL head: the input gradient of Σ KL(p ‖ softmax(f(x))) matches central differences (float64)', async (t) => {
    const trainable = await Trainable.create(model(), { threads: 1, klAttack: true });
    try {
      const p = params();
      const target = logProbs(p, xClean, n).map((l) => l.map(Math.exp));
      const probs = Float32Array.from(target.flatMap((r) => [...r]));
      const targetF = Array.from({ length: n }, (_, i) => Float64Array.from(probs.subarray(i * 3, (i + 1) * 3)));
      const klLoss = (x: Float64Array): number => {
        const lq = logProbs(p, x, n);
        let s = 0;
        for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) s += targetF[i]![k]! * (Math.log(targetF[i]![k]!) - lq[i]![k]!);
        return s;
      };
      const grad = await trainable.inputGradKl(Float32Array.from(xAdv), n, probs);
      const numeric = new Float64Array(xAdv.length);
      for (let i = 0; i < numeric.length; i++) {
        const h = 1e-5;
        const plus = xAdv.slice();
        plus[i]! += h;
        const minus = xAdv.slice();
        minus[i]! -= h;
        numeric[i] = (klLoss(plus) - klLoss(minus)) / (2 * h);
      }
      const d = relativeToMax(grad, numeric);
      t.diagnostic(`KL input gradient vs finite differences: max deviation ${d.toExponential(2)} (relative to max)`);
      assert.ok(d <= 1e-4, `KL input gradient deviates ${d.toExponential(2)}`);
      // At x' = x the KL is at its minimum: the gradient vanishes.
      const atClean = await trainable.inputGradKl(Float32Array.from(xClean), n, probs);
      assert.ok(
        atClean.every((v) => Math.abs(v) < 1e-5),
        `gradient at the clean point: ${Array.from(atClean).slice(0, 4).join(', ')}`,
      );
    } finally {
      await trainable.dispose();
    }
  });
});
