/**
 * Opset coverage: the same small network written in each opset's own form (attributes that later
 * became inputs: Clip, Slice, Pad, Squeeze/Unsqueeze, Split, ReduceSum/ReduceMean; the pre-13
 * Softmax that flattens to 2-D; Dropout's ratio attribute) at opsets 9–21 and IR versions 4–10.
 * Each must load, run, and have gradients that agree with finite differences (float32: onnxruntime
 * has no float64 Clip before opset 12).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { float } from '../src/onnx/attributes.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType as DT } from '../src/onnx/dtypes.js';
import type { Graph } from '../src/onnx/graph.js';
import { parseModel, serializeModel, type ModelIR } from '../src/onnx/model.js';
import { checkModelGradient } from '../src/autodiff/testing/model-gradcheck.js';

function irFor(opset: number): bigint {
  return opset >= 21 ? 10n : opset >= 19 ? 9n : opset >= 15 ? 8n : opset >= 13 ? 7n : opset >= 10 ? 5n : 4n;
}

/** x (N,1,4,4) → Clip → Slice → Pad → Squeeze → Softmax(axis 1) → Dropout → Unsqueeze → ReduceMean → Split → ReduceSum ×2 → Mul. */
function network(opset: number): ModelIR {
  const graph: Graph = {
    name: `net${opset}`,
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: ['N', 1, 4, 4] }],
    outputs: [{ name: 'y', dataType: DT.FLOAT, shape: ['N', 1] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 'net');
  const d = (v: number): string => b.constant(DT.FLOAT, [], Float32Array.of(v));
  let h = opset < 11 ? b.op('Clip', ['x'], { min: float(0.1), max: float(0.9) }) : b.op('Clip', ['x', d(0.1), d(0.9)]);
  h = opset < 10 ? b.op('Slice', [h], { starts: [1], ends: [4], axes: [3] }) : b.op('Slice', [h, b.int64s([1]), b.int64s([4]), b.int64s([3])]);
  h = opset < 11 ? b.op('Pad', [h], { pads: [0, 0, 1, 0, 0, 0, 0, 1], value: float(0.25) }) : b.op('Pad', [h, b.int64s([0, 0, 1, 0, 0, 0, 0, 1]), d(0.25)]);
  h = opset < 13 ? b.op('Squeeze', [h], { axes: [1] }) : b.op('Squeeze', [h, b.int64s([1])]); // (N,5,4)
  h = b.op('Softmax', [h], { axis: 1 }); // before 13: over the flattened 20 values; from 13: over axis 1
  h = opset < 12 ? b.op('Dropout', [h], { ratio: float(0.3) }) : b.op('Dropout', [h]);
  h = opset < 13 ? b.op('Unsqueeze', [h], { axes: [1] }) : b.op('Unsqueeze', [h, b.int64s([1])]); // (N,1,5,4)
  h = opset < 18 ? b.op('ReduceMean', [h], { axes: [3], keepdims: 1 }) : b.op('ReduceMean', [h, b.int64s([3])], { keepdims: 1 }); // (N,1,5,1)
  const [top, bottom] =
    opset < 13 ? b.node('Split', [h], { axis: 2, split: [2, 3] }, { outputs: 2 }) : b.node('Split', [h, b.int64s([2, 3])], { axis: 2 }, { outputs: 2 });
  const sum = (v: string): string =>
    opset < 13 ? b.op('ReduceSum', [v], { axes: [2, 3], keepdims: 0 }) : b.op('ReduceSum', [v, b.int64s([2, 3])], { keepdims: 0 });
  const scaled = b.op('Mul', [sum(top!), b.op('Add', [sum(bottom!), d(1)])]);
  b.node('Identity', [scaled], {}, { outputNames: ['y'] });
  const proto = create(ModelProtoSchema, { irVersion: irFor(opset), opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })] });
  // Round-trip through bytes, as a user's file would arrive.
  return parseModel(serializeModel({ proto, graph, opset }), { path: `net-opset${opset}.onnx` });
}

for (const opset of [9, 10, 11, 12, 13, 15, 17, 18, 19, 21]) {
  test(`opset ${opset} (IR ${irFor(opset)}): loads, runs and differentiates`, async () => {
    const model = network(opset);
    assert.equal(model.opset, opset);
    let s = 3;
    const data = Float32Array.from({ length: 2 * 16 }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 0.6 + 0.15);
    const r = await checkModelGradient(model, { x: { type: 'float32', data, shape: [2, 1, 4, 4] } }, { wrt: ['x'] });
    assert.ok(r.checked === 32);
  });
}
