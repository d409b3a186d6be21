/** Backprop over quantisers: reported as non-differentiable; zero gradient, or straight-through on request. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import { serializeModel, type ModelIR } from '../onnx/model.js';
import { Session } from '../runtime/session.js';
import { buildVjpGraph, cotangentInputName } from './vjp-graph.js';
import { gradOutputName } from './gradient-graph.js';
import type { NonDifferentiablePolicy } from './backprop.js';

function model(quantise: (b: GraphBuilder, x: string) => string): ModelIR {
  const graph: Graph = {
    name: 'q',
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: [2, 3] }],
    outputs: [{ name: 'y', dataType: DT.FLOAT, shape: [2, 3] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph);
  b.node('Mul', [quantise(b, 'x'), b.scalar(3)], {}, { outputNames: ['y'] });
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] }),
    graph,
    opset: 18,
  };
}

async function gradient(m: ModelIR, policy: NonDifferentiablePolicy): Promise<{ grad: number[]; reported: string[] }> {
  const vjp = await buildVjpGraph(m, { wrt: ['x'], nonDifferentiable: policy });
  const s = await Session.create(serializeModel(vjp.model), { threads: 1 });
  const r = await s.run({
    x: { type: 'float32', data: Float32Array.of(0.11, 0.52, 0.33, 0.94, 0.25, 0.76), shape: [2, 3] },
    [cotangentInputName('y')]: { type: 'float32', data: new Float32Array(6).fill(1), shape: [2, 3] },
  });
  await s.dispose();
  return { grad: Array.from(r[gradOutputName('x')]!.data as Float32Array), reported: vjp.nonDifferentiableNodes.map((n) => n.opType) };
}

const quantisers: Record<string, (b: GraphBuilder, x: string) => string> = {
  'QuantizeLinear → DequantizeLinear': (b, x) => {
    const scale = b.scalar(0.1);
    const zero = b.constant(DT.UINT8, [], Uint8Array.of(0));
    return b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, scale, zero]), scale, zero]);
  },
  'Cast to int32 and back': (b, x) => b.op('Cast', [b.op('Cast', [b.op('Mul', [x, b.scalar(10)])], { to: DT.INT32 })], { to: DT.FLOAT }),
  Round: (b, x) => b.op('Round', [x]),
};

for (const [name, q] of Object.entries(quantisers)) {
  test(`${name}: reported, zero gradient by default, straight-through with 'identity'`, async () => {
    const zero = await gradient(model(q), 'zero');
    assert.ok(zero.reported.length >= 1, 'quantiser reported');
    assert.deepEqual(zero.grad, [0, 0, 0, 0, 0, 0]);
    const ste = await gradient(model(q), 'identity');
    const scale = name.startsWith('Cast') ? 30 : 3; // the ×10 before the Cast is differentiable
    for (const g of ste.grad) assert.ok(Math.abs(g - scale) < 1e-6, `straight-through gradient ${g}, expected ${scale}`);
  });
}
