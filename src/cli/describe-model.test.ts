/** describeModel classifies every op and finds the gradient path, without running the model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { encodeTensor } from '../onnx/tensor-proto.js';
import { describeModel } from './describe-model.js';

/**
 * input (N, 4) → Mul w → Round → Gemm (W, b) → Mul det(M) → Softmax → probs, where det(M) is computed
 * from an initializer only (so Det is off the gradient path); an int64 initializer is a constant.
 */
function model(): ModelIR {
  const graph: Graph = {
    name: 'classify',
    nodes: [],
    inputs: [{ name: 'input', dataType: DT.FLOAT, shape: ['batch', 4] }],
    outputs: [{ name: 'probs', dataType: DT.FLOAT, shape: ['batch', 3] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const param = (name: string, dims: number[]): string => {
    graph.initializers.set(
      name,
      encodeTensor(
        name,
        DT.FLOAT,
        dims,
        Float32Array.from({ length: dims.reduce((a, d) => a * d, 1) }, (_, i) => 0.1 * (i + 1)),
      ),
    );
    return name;
  };
  graph.initializers.set('steps', encodeTensor('steps', DT.INT64, [1], BigInt64Array.of(1n)));
  const b = new GraphBuilder(graph, 't');
  const scaled = b.op('Mul', ['input', param('w', [4])]);
  const rounded = b.op('Round', [scaled]);
  const z = b.op('Gemm', [rounded, param('W', [3, 4]), param('b', [3])], { transB: 1 });
  const det = b.op('Det', [param('M', [2, 2])]);
  const logits = b.op('Mul', [z, det], {}, { outputNames: ['scores'] });
  b.node('Softmax', [logits], { axis: 1 }, { outputNames: ['probs'] });
  const proto = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'unit',
    producerVersion: '1',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
  });
  return { proto, graph, opset: 17 };
}

test('ops, gradient support, the gradient path, output kind and parameters', () => {
  const d = describeModel(model());
  assert.equal(d.producer, 'unit 1');
  assert.equal(d.opset, 17);
  assert.equal(d.nodes, 6);
  const byOp = Object.fromEntries(d.ops.map((o) => [o.op, o]));
  assert.deepEqual(byOp.Mul, { op: 'Mul', count: 2, gradient: 'rule', onGradientPath: 2 });
  assert.deepEqual(byOp.Round, { op: 'Round', count: 1, gradient: 'non-differentiable', onGradientPath: 1 });
  assert.deepEqual(byOp.Det, { op: 'Det', count: 1, gradient: 'unsupported', onGradientPath: 0 });
  // The Softmax is the output itself: gradients start from its input, so it is not on the path.
  assert.deepEqual(byOp.Softmax, { op: 'Softmax', count: 1, gradient: 'rule', onGradientPath: 0 });
  assert.deepEqual(d.gradient, {
    input: 'input',
    unsupportedOnPath: [],
    unsupportedElsewhere: ['Det'],
    nonDifferentiable: ['Round'],
    nonDifferentiableOnPath: ['Round'],
  });
  assert.deepEqual(d.output, { kind: 'probabilities', scores: 'scores' });
  assert.deepEqual(d.parameters, { tensors: 4, values: 4 + 12 + 3 + 4 });
  assert.deepEqual(d.constants, { tensors: 1, values: 1 });
  assert.deepEqual(d.inputs, [{ name: 'input', dtype: 'float32', shape: ['batch', 4] }]);
});
