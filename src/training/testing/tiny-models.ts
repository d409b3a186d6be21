/** Small hand-built classifiers and comparisons for the training tests. */
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import type { ModelIR } from '../../onnx/model.js';
import { encodeTensor } from '../../onnx/tensor-proto.js';

/** A model of opset 17 whose graph `build` fills (input 'input', output 'logits'). */
export function makeModel(
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
export function relativeToMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};
