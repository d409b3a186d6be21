import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runAttack } from '../../attacks/attack.js';
import { createAttack } from '../../attacks/registry.js';
import { referenceInputs, referenceModelPath } from '../../attacks/testing/reference-data.js';
import { GibbonError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { OnnxModel } from '../onnx-model.js';
import { scoreOracle } from '../oracles.js';
import { FunctionModel, type ScoreFunction } from './function-model.js';

const { x, y } = referenceInputs(6);
const SHAPE = [null, 1, 28, 28];
let onnx: OnnxModel;

before(async () => {
  onnx = await OnnxModel.load(referenceModelPath('mnist_mlp'), { threads: 1 });
});
after(async () => onnx.dispose());

const rows = (t: Tensor, c: number): number[][] => Array.from({ length: t.shape[0]! }, (_, i) => Array.from(t.data.subarray(i * c, (i + 1) * c)));

test('a function returning a Float32Array or rows of numbers gives the same logits as the model it wraps', async () => {
  const expected = await onnx.logits(x);
  const flat = new FunctionModel(async (batch) => (await onnx.logits(batch)).data, { inputShape: SHAPE, numClasses: 10 });
  assert.deepEqual(Array.from((await flat.logits(x)).data), Array.from(expected.data));
  const nested = new FunctionModel(async (batch) => rows(await onnx.logits(batch), 10), { inputShape: SHAPE, numClasses: 10 });
  const got = await nested.logits(x);
  assert.deepEqual(got.shape, [6, 10]);
  assert.deepEqual(Array.from(got.data), Array.from(expected.data));
});

test('Square through a FunctionModel equals Square through the ONNX oracle with the same seed', async () => {
  const model = new FunctionModel(async (batch) => (await onnx.logits(batch)).data, { inputShape: SHAPE, numClasses: 10 });
  const attack = createAttack('square', { queries: 30 });
  const options = { eps: 0.3, norm: 'linf' as const, seed: 11 };
  const a = await runAttack(attack, scoreOracle(model, { queryBudget: 30 }), x, y, options);
  const b = await runAttack(attack, scoreOracle(onnx, { queryBudget: 30 }), x, y, options);
  assert.deepEqual(Array.from(a.clipped.data), Array.from(b.clipped.data));
  assert.equal(a.queries, b.queries);
});

test("outputs 'probabilities' become log-probabilities, so the score oracle reports the function's probabilities", async () => {
  const softmax = async (batch: Tensor): Promise<number[][]> =>
    rows(await onnx.logits(batch), 10).map((r) => {
      const m = Math.max(...r);
      const e = r.map((v) => Math.exp(v - m));
      const s = e.reduce((p, q) => p + q, 0);
      return e.map((v) => v / s);
    });
  const model = new FunctionModel(softmax, { inputShape: SHAPE, numClasses: 10, outputs: 'probabilities' });
  const { probabilities } = await scoreOracle(model).scores(x);
  const expected = await softmax(x);
  for (let i = 0; i < 6; i++) for (let j = 0; j < 10; j++) assert.ok(Math.abs(probabilities.data[i * 10 + j]! - expected[i]![j]!) < 1e-6);
  const logits = new FunctionModel(async (batch) => (await onnx.logits(batch)).data, { inputShape: SHAPE, numClasses: 10, outputs: 'probabilities' });
  await assert.rejects(logits.logits(x), /is not a probability|sum to/);
});

test('answers of the wrong shape, or with NaN, are errors that say what was wrong', async () => {
  const cases: [ScoreFunction, RegExp][] = [
    [() => new Float32Array(59), /got 59 scores for 6 example\(s\) of 10 classes \(expected 60\)/],
    [() => [[1, 2]], /expected 6 row\(s\) of class scores \(one per example\); got 1/],
    [(b) => Array.from({ length: b.shape[0]! }, () => [1, 2, 3]), /row 0 has 3 scores; expected 10 \(the number of classes\)/],
    [(b) => Array.from({ length: b.shape[0]! }, () => Array.from({ length: 10 }, (_, j) => (j === 4 ? NaN : 0))), /score \[0\]\[4\] is NaN/],
  ];
  for (const [fn, pattern] of cases) {
    const model = new FunctionModel(fn, { inputShape: SHAPE, numClasses: 10 });
    await assert.rejects(model.logits(x), (e: unknown) => {
      assert.ok(e instanceof GibbonError && e.code === 'invalid_model', String(e));
      assert.match(e.message, /the model function's answer for 6 example\(s\) of shape \[1, 28, 28\]/);
      assert.match(e.message, pattern);
      return true;
    });
  }
});

test('inputs are checked against the declared shape before the function runs; options are checked', async () => {
  let calls = 0;
  const model = new FunctionModel(
    () => {
      calls++;
      return new Float32Array(10);
    },
    { inputShape: SHAPE, numClasses: 10 },
  );
  await assert.rejects(model.logits({ data: new Float32Array(784), shape: [1, 784] }), /x has shape \[1, 784\] but the model expects \[N, 1, 28, 28\]/);
  await assert.rejects(model.logits({ data: Float32Array.from({ length: 784 }, () => NaN), shape: [1, 1, 28, 28] }), /x contains NaN at flat index 0/);
  assert.equal(calls, 0);
  assert.throws(
    () => new FunctionModel(() => new Float32Array(0), { inputShape: SHAPE, numClasses: 1 }),
    (e: unknown) => e instanceof GibbonError && e.location.option === 'numClasses',
  );
  assert.throws(
    () => new FunctionModel(() => new Float32Array(0), { inputShape: [null, 0, 28], numClasses: 10 }),
    (e: unknown) => e instanceof GibbonError && e.location.option === 'inputShape',
  );
});
