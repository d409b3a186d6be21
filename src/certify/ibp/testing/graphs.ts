/** Small hand-built graphs for the bound-graph tests, and one run of a bound graph. */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { DataType as DT } from '../../../onnx/dtypes.js';
import type { Graph } from '../../../onnx/graph.js';
import type { ModelIR } from '../../../onnx/model.js';
import type { Session } from '../../../runtime/session.js';
import type { AnyTensor } from '../../../tensor/tensor.js';
import { IBP_LABELS_INPUT, LOGITS_LOWER_OUTPUT, LOGITS_UPPER_OUTPUT, MARGIN_LOWER_OUTPUT, X_LOWER_INPUT, X_UPPER_INPUT } from '../interval-graph.js';

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

/** A bound graph's outputs for one batch of boxes. */
export interface Bounds {
  readonly lower: Float32Array;
  readonly upper: Float32Array;
  readonly margin: Float32Array;
}

/** Runs a bound graph on the boxes [lower, upper] (rows of `shape`) with labels; `extra` feeds e.g. weights fed as inputs. */
export async function runBounds(
  session: Session,
  lower: Float32Array,
  upper: Float32Array,
  shape: readonly number[],
  labels: ArrayLike<number>,
  extra: Record<string, AnyTensor> = {},
): Promise<Bounds> {
  const r = await session.run({
    ...extra,
    [X_LOWER_INPUT]: { type: 'float32', data: lower, shape },
    [X_UPPER_INPUT]: { type: 'float32', data: upper, shape },
    [IBP_LABELS_INPUT]: { type: 'int64', data: BigInt64Array.from(Array.from(labels), (v) => BigInt(v)), shape: [labels.length] },
  });
  return {
    lower: r[LOGITS_LOWER_OUTPUT]!.data as Float32Array,
    upper: r[LOGITS_UPPER_OUTPUT]!.data as Float32Array,
    margin: r[MARGIN_LOWER_OUTPUT]!.data as Float32Array,
  };
}
