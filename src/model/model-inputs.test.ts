import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { decodeTensor, toNumbers } from '../onnx/tensor-proto.js';
import { bindInputs, prependNormalization, unboundInputs } from './model-inputs.js';
import { OnnxModel } from './onnx-model.js';

/** logits = ReduceMean(x · scale, axes [2, 3]) + Cast(k) (x: [N, 2, 2, 2], scale: [1, 2, 1, 1] input, k: int64 scalar). */
function twoExtraInputs(): ModelIR {
  const graph: Graph = {
    name: 't',
    nodes: [],
    inputs: [
      { name: 'x', dataType: DT.FLOAT, shape: ['N', 2, 2, 2] },
      { name: 'scale', dataType: DT.FLOAT, shape: [1, 2, 1, 1] },
      { name: 'k', dataType: DT.INT64, shape: [] },
    ],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['N', 2] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 't');
  const mean = b.op('ReduceMean', [b.op('Mul', ['x', 'scale']), b.int64s([2, 3])], { keepdims: 0 });
  b.node('Add', [mean, b.op('Cast', ['k'], { to: DT.FLOAT })], {}, { outputNames: ['logits'] });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  return { proto, graph, opset: 18 };
}

test('bindInputs: a number fills the declared shape, a tensor must fit it; both become initializers', () => {
  const m = bindInputs(twoExtraInputs(), { k: 3, scale: { type: 'float32', data: Float32Array.of(2, -1), shape: [1, 2, 1, 1] } });
  assert.deepEqual(unboundInputs(m, 'x'), []);
  assert.deepEqual(toNumbers(decodeTensor(m.graph.initializers.get('k')!)), [3]);
  assert.equal(m.graph.initializers.get('k')!.dataType, DT.INT64);
  assert.throws(
    () => bindInputs(twoExtraInputs(), { scale: { type: 'float32', data: Float32Array.of(1, 2, 3), shape: [1, 3, 1, 1] } }),
    /shape \[1, 3, 1, 1\] but input 'scale' is \[1, 2, 1, 1\]/,
  );
  assert.throws(() => bindInputs(twoExtraInputs(), { k: 0.5 }), /holds int64 but the value has 0.5/);
  assert.throws(() => bindInputs(twoExtraInputs(), { nope: 1 }), /no input 'nope'; inputs: x, scale, k/);
  assert.throws(() => bindInputs(twoExtraInputs(), { x: 1 }, 'x'), /'x' is the input being attacked/);
});

test('OnnxModel with feeds: the bound values reach the model; gradients w.r.t. x only', async () => {
  const scale = { type: 'float32' as const, data: Float32Array.of(2, -1), shape: [1, 2, 1, 1] };
  const model = await OnnxModel.load(twoExtraInputs(), { threads: 1, feeds: { k: 3, scale } });
  const x = { data: Float32Array.from({ length: 8 }, (_, i) => i), shape: [1, 2, 2, 2] };
  const z = await model.logits(x);
  // channel 0: mean(0..3)·2 + 3 = 6; channel 1: mean(4..7)·(−1) + 3 = −2.5
  assert.deepEqual([...z.data], [6, -2.5]);
  const r = await model.lossAndGrad(x, [1], 'margin');
  // margin = z0 − z1; dz0/dx = 2/4 on channel 0, dz1/dx = −1/4 on channel 1 → +0.5 and +0.25
  assert.deepEqual([...r.grad.data], [0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]);
  assert.deepEqual(model.trainableParams, []);
  await model.dispose();
});

test('prependNormalization: the model takes raw values; per-channel (x − mean) / std over axis 1', async () => {
  const base = bindInputs(twoExtraInputs(), { k: 0, scale: 1 });
  const m = prependNormalization(base, 'x', { mean: [10, 20], std: [2, 4] });
  assert.equal(m.graph.inputs[0]!.name, 'x');
  const model = await OnnxModel.load(m, { threads: 1 });
  const x = { data: Float32Array.of(10, 12, 14, 16, 20, 24, 28, 32), shape: [1, 2, 2, 2] };
  const z = await model.logits(x);
  // channel 0: mean((0, 2, 4, 6) / 2) = 1.5; channel 1: mean((0, 4, 8, 12) / 4) = 1.5
  assert.deepEqual([...z.data], [1.5, 1.5]);
  await model.dispose();
  assert.throws(() => prependNormalization(base, 'x', { mean: [1, 2, 3], std: [1, 1, 1] }), /3 channels but input 'x' is \[N, 2, 2, 2\]/);
  assert.throws(() => prependNormalization(base, 'x', { mean: [1, 2], std: [1, 0] }), /std values must be finite and > 0/);
});
