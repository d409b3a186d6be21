/** Small hand-built graphs for the bound-graph tests. */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { DataType as DT } from '../../../onnx/dtypes.js';
import type { Graph } from '../../../onnx/graph.js';
import type { ModelIR } from '../../../onnx/model.js';

/** The graph as an opset-17 model. */
export function modelOf(graph: Graph): ModelIR {
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })] }),
    graph,
    opset: 17,
  };
}

/** A graph with one float input (batch, …shape) and an output `logits` (batch, classes), to be filled. */
export function emptyGraph(shape: readonly number[], classes: number): Graph {
  return {
    name: 'g',
    nodes: [],
    inputs: [{ name: 'input', dataType: DT.FLOAT, shape: ['batch', ...shape] }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['batch', classes] }],
    initializers: new Map(),
    valueInfo: [],
  };
}
