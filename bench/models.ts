/**
 * Benchmark models built in code (no download): the Madry et al. (2018) MNIST CNN —
 * conv 32@5×5 pad 2, ReLU, maxpool 2, conv 64@5×5 pad 2, ReLU, maxpool 2, fc 1024, ReLU, fc 10 —
 * with seeded random weights (speed does not depend on weight values), opset 13, input 'input'
 * (batch, 1, 28, 28), output 'logits'.
 */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType as DT } from '../src/onnx/dtypes.js';
import type { Graph } from '../src/onnx/graph.js';
import type { ModelIR } from '../src/onnx/model.js';
import { encodeTensor } from '../src/onnx/tensor-proto.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function madryCnn(seed = 0): ModelIR {
  const random = rng(seed + 1);
  const graph: Graph = {
    name: 'madry_mnist_cnn',
    nodes: [],
    inputs: [{ name: 'input', dataType: DT.FLOAT, shape: ['batch', 1, 28, 28] }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['batch', 10] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 'madry');
  const param = (name: string, dims: number[], fanIn: number): string => {
    const n = dims.reduce((a, c) => a * c, 1);
    const bound = 1 / Math.sqrt(fanIn);
    graph.initializers.set(name, encodeTensor(name, DT.FLOAT, dims, Float32Array.from({ length: n }, () => (2 * random() - 1) * bound)));
    return name;
  };
  let h = 'input';
  h = b.op('Conv', [h, param('conv1.weight', [32, 1, 5, 5], 25), param('conv1.bias', [32], 25)], { kernel_shape: [5, 5], pads: [2, 2, 2, 2] });
  h = b.op('Relu', [h]);
  h = b.op('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
  h = b.op('Conv', [h, param('conv2.weight', [64, 32, 5, 5], 800), param('conv2.bias', [64], 800)], { kernel_shape: [5, 5], pads: [2, 2, 2, 2] });
  h = b.op('Relu', [h]);
  h = b.op('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
  h = b.op('Flatten', [h], { axis: 1 });
  h = b.op('Gemm', [h, param('fc1.weight', [1024, 3136], 3136), param('fc1.bias', [1024], 3136)], { transB: 1 });
  h = b.op('Relu', [h]);
  b.node('Gemm', [h, param('fc2.weight', [10, 1024], 1024), param('fc2.bias', [10], 1024)], { transB: 1 }, { outputNames: ['logits'] });
  const proto = create(ModelProtoSchema, {
    irVersion: 7n,
    producerName: 'gibbon-bench',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })],
  });
  return { proto, graph, opset: 13 };
}
