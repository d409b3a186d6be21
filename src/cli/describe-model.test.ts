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
import { join } from 'node:path';
import { loadModel } from '../onnx/model.js';
import { renderInfo } from './commands/info.js';
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
  assert.deepEqual(byOp.Mul, { op: 'Mul', count: 2, inSubgraphs: 0, gradient: 'rule', onGradientPath: 2 });
  assert.deepEqual(byOp.Round, { op: 'Round', count: 1, inSubgraphs: 0, gradient: 'non-differentiable', onGradientPath: 1 });
  assert.deepEqual(byOp.Det, { op: 'Det', count: 1, inSubgraphs: 0, gradient: 'unsupported', onGradientPath: 0 });
  // The Softmax is the output itself: gradients start from its input, so it is not on the path.
  assert.deepEqual(byOp.Softmax, { op: 'Softmax', count: 1, inSubgraphs: 0, gradient: 'rule', onGradientPath: 0 });
  assert.deepEqual(d.gradient, {
    input: 'input',
    unsupportedOnPath: [],
    unsupportedElsewhere: ['Det'],
    nonDifferentiable: ['Round'],
    nonDifferentiableOnPath: ['Round'],
  });
  assert.deepEqual(d.output, { kind: 'probabilities', scores: 'scores', activation: 'Softmax', binary: false });
  assert.deepEqual(d.parameters, { tensors: 4, values: 4 + 12 + 3 + 4 });
  assert.deepEqual(d.constants, { tensors: 1, values: 1 });
  assert.deepEqual(d.inputs, [{ name: 'input', dtype: 'float32', shape: ['batch', 4] }]);
});

test('ops inside If branches are counted, listed per branch, and on the gradient path through the If', () => {
  const d = describeModel(loadModel(join(process.cwd(), 'test', 'fixtures', 'zoo', 'if_branches_op11.onnx')));
  // Main graph: Gemm, Relu, ReduceMean, Constant, Greater, Cast, If; then: Gemm; else: Gemm, Constant, Mul.
  assert.equal(d.nodes, 11);
  const byOp = Object.fromEntries(d.ops.map((o) => [o.op, o]));
  assert.deepEqual(byOp.Gemm, { op: 'Gemm', count: 3, inSubgraphs: 2, gradient: 'rule', onGradientPath: 3 });
  assert.deepEqual(byOp.If, { op: 'If', count: 1, inSubgraphs: 0, gradient: 'rule', onGradientPath: 1 });
  assert.equal(byOp.Relu!.onGradientPath, 1);
  // The condition steers the gradient but does not carry it.
  assert.equal(byOp.Greater!.onGradientPath, 0);
  assert.deepEqual(d.gradient.nonDifferentiableOnPath, []);
  assert.deepEqual(
    d.subgraphs.map((x) => [x.path, x.nodes, x.gradient, x.ops.map((o) => `${o.op}:${o.count}/${o.onGradientPath}`)]),
    [
      ["If '/If' then_branch", 1, 'path', ['Gemm:1/1']],
      ["If '/If' else_branch", 3, 'path', ['Constant:1/0', 'Gemm:1/1', 'Mul:1/1']],
    ],
  );
  const text = renderInfo(d);
  assert.match(text, /11 \(4 in subgraphs\)/);
  assert.match(text, /If '\/If' else_branch: 3 nodes \(Constant, Gemm, Mul\) — on the gradient path: Gemm, Mul/);
  assert.match(text, /every op between input 'x' and the class scores has a gradient rule/);
});

test('nested Ifs are listed with their enclosing branch; folded Ifs and unrolled Loops say so; other Loops fail on the path', () => {
  const dir = join(process.cwd(), 'test', 'fixtures', 'controlflow');
  const nested = describeModel(loadModel(join(dir, 'if_nested_op13.onnx')));
  const inner = nested.subgraphs.find((x) => x.path === "If '/If_1' then_branch › If '/If' else_branch")!;
  assert.deepEqual(
    inner.ops.map((o) => [o.op, o.onGradientPath]),
    [
      ['Gemm', 1],
      ['Mul', 1],
      ['ReduceSum', 1],
    ],
  );
  assert.equal(nested.subgraphs.length, 4);
  const folded = describeModel(loadModel(join(dir, 'if_constant_op13.onnx')));
  assert.deepEqual(
    folded.subgraphs.map((x) => x.gradient),
    ['folded', 'folded'],
  );
  const unrolled = describeModel(loadModel(join(dir, 'loop_constant_op13.onnx')));
  assert.deepEqual(
    unrolled.subgraphs.map((x) => x.gradient),
    ['folded'],
  );
  assert.deepEqual(unrolled.gradient.unsupportedElsewhere, []);
  const loop = describeModel(loadModel(join(dir, 'loop_data_op13.onnx')));
  assert.deepEqual(loop.gradient.unsupportedOnPath, ['Loop']);
  assert.deepEqual(
    loop.subgraphs[0]!.ops.filter((o) => o.onGradientPath > 0).map((o) => o.op),
    ['Gemm', 'Tanh'],
  );
});

test('one score: a final Sigmoid over (N, 1) and a bare (N, 1) score are binary classifiers, in text and JSON', () => {
  const zoo = join(process.cwd(), 'test', 'fixtures', 'zoo');
  const sigmoid = describeModel(loadModel(join(zoo, 'sigmoid_detector_op13.onnx')));
  assert.equal(sigmoid.output.kind, 'one-score');
  assert.equal(sigmoid.output.activation, 'Sigmoid');
  assert.equal(sigmoid.output.binary, true);
  assert.notEqual(sigmoid.output.scores, 'score', 'the scores are the Sigmoid input');
  assert.match(
    renderInfo(sigmoid),
    /score {2}float32 \[N, 1\] {2}— one score \(binary; final Sigmoid, gradients start from its input '[^']+'; read as the two-class logits \(0, s\)\)/,
  );
  const m = model();
  m.graph.nodes = m.graph.nodes.filter((n) => n.opType !== 'Softmax');
  m.graph.outputs = [{ name: 'scores', dataType: DT.FLOAT, shape: ['batch', 1] }];
  const bare = describeModel(m);
  assert.deepEqual(bare.output, { kind: 'one-score', scores: 'scores', activation: null, binary: true });
  assert.match(renderInfo(bare), /— one score \(binary; read as the two-class logits \(0, s\)\)/);
  const tenClasses = describeModel(loadModel(join(zoo, 'softmax_cnn_op10.onnx')));
  assert.deepEqual([tenClasses.output.kind, tenClasses.output.activation, tenClasses.output.binary], ['probabilities', 'Softmax', false]);
});
