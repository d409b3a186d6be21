import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float } from '../../onnx/attributes.js';
import { gradCheck } from '../testing/gradcheck.js';

test('Gemm: transposes, alpha/beta, broadcast bias', async () => {
  for (const [transA, transB] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ] as const) {
    const r = await gradCheck({
      opType: 'Gemm',
      attrs: { transA, transB, alpha: float(0.7), beta: float(1.3) },
      inputs: [{ shape: transA ? [4, 3] : [3, 4] }, { shape: transB ? [5, 4] : [4, 5] }, { shape: [5] }],
    });
    assert.ok(r.checked > 0);
  }
});

test('Add/Sub/Mul/Div broadcast both ways', async () => {
  for (const opType of ['Add', 'Sub', 'Mul', 'Div']) {
    await gradCheck({ opType, inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1], low: 0.5, high: 1.5 }] });
    await gradCheck({
      opType,
      inputs: [
        { shape: [1, 4], low: 0.5, high: 1.5 },
        { shape: [3, 1], low: 0.5, high: 1.5 },
      ],
    });
  }
});

test('Relu at distinct non-zero points', async () => {
  await gradCheck({ opType: 'Relu', inputs: [{ shape: [3, 4], data: [-1, 2, -0.5, 0.3, 0.7, -0.2, 0.9, -0.9, 0.1, -0.1, 0.4, -0.4] }] });
});

test('LogSoftmax and Softmax along an inner axis', async () => {
  await gradCheck({ opType: 'LogSoftmax', attrs: { axis: 1 }, inputs: [{ shape: [2, 4, 3] }] });
  await gradCheck({ opType: 'Softmax', attrs: { axis: -1 }, inputs: [{ shape: [2, 3, 5] }] });
});

test('ReduceSum / ReduceMax with and without keepdims', async () => {
  await gradCheck({ opType: 'ReduceSum', attrs: { keepdims: 0 }, inputs: [{ shape: [2, 3, 4] }, { shape: [2], type: 'int64', data: [0, 2] }] });
  await gradCheck({ opType: 'ReduceMax', attrs: { keepdims: 0 }, inputs: [{ shape: [3, 5] }, { shape: [1], type: 'int64', data: [1] }] });
  await gradCheck({ opType: 'ReduceMax', attrs: { keepdims: 1 }, inputs: [{ shape: [2, 3, 4] }, { shape: [2], type: 'int64', data: [1, 2] }] });
});
