/**
 * A BPDA surrogate for Round as a one-input, one-output ONNX model: g(t) = t − a·sin(2πt)/(2π).
 * With a = 1 it touches Round at every integer and its derivative 1 − cos(2πt) vanishes there; a
 * smaller a keeps the staircase's shape with a slope of at least 1 − a everywhere.
 */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { DataType as DT } from '../../src/onnx/dtypes.js';
import type { Graph } from '../../src/onnx/graph.js';
import type { ModelIR } from '../../src/onnx/model.js';

export function smoothRound(a = 1): ModelIR {
  const graph: Graph = {
    name: 'smooth-round',
    nodes: [],
    inputs: [{ name: 't', dataType: DT.FLOAT, shape: null }],
    outputs: [{ name: 'g', dataType: DT.FLOAT, shape: null }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 'smooth');
  const twoPi = b.scalar(2 * Math.PI);
  const wave = b.op('Div', [b.op('Sin', [b.op('Mul', ['t', twoPi])]), b.scalar((2 * Math.PI) / a)]);
  b.node('Sub', ['t', wave], {}, { outputNames: ['g'] });
  const proto = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'gibbon tests',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })],
  });
  return { proto, graph, opset: 18 };
}
