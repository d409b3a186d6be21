/**
 * Test utility: a transform alone as a model (an Identity "classifier" behind
 * applyInputTransforms), run through onnxruntime, and plain-JS references to compare it with.
 */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { DataType as DT } from '../../../onnx/dtypes.js';
import type { Graph } from '../../../onnx/graph.js';
import { serializeModel, type ModelIR } from '../../../onnx/model.js';
import { Session } from '../../../runtime/session.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { applyInputTransforms, type InputTransform } from '../input-transform.js';

/** y = t_k(…t_1(x)) for an NCHW input 'x' with a dynamic batch. */
export function transformModel(transforms: readonly InputTransform[], chw: readonly [number, number, number]): ModelIR {
  const graph: Graph = {
    name: 'transform',
    nodes: [{ name: 'identity', opType: 'Identity', domain: '', inputs: ['x'], outputs: ['y'], attributes: [] }],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: ['batch', ...chw] }],
    outputs: [{ name: 'y', dataType: DT.FLOAT, shape: null }],
    initializers: new Map(),
    valueInfo: [],
  };
  const proto = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'gibbon tests',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })],
  });
  return applyInputTransforms({ proto, graph, opset: 18 }, transforms);
}

/** Runs a one-input, one-output model on x (a fresh session each time). */
export async function runModel(model: ModelIR, x: Tensor, output = 'y'): Promise<Tensor> {
  const session = await Session.create(serializeModel(model), { threads: 1, label: 'transform' });
  try {
    const r = await session.run({ [model.graph.inputs[0]!.name]: { type: 'float32', data: x.data, shape: [...x.shape] } });
    const y = r[output]!;
    return { data: y.data as Float32Array, shape: [...y.shape] };
  } finally {
    await session.dispose();
  }
}

/** ONNX Round: halves go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Uniform values in [0, 1) from a small seeded generator (tests only). */
export function uniformTensor(shape: readonly number[], seed: number): Tensor {
  let s = seed >>> 0 || 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return { data, shape: [...shape] };
}
