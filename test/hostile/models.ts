/**
 * Small ONNX models built in code for the hostile suite and the fuzz target: a linear classifier
 * logits = x·W + B (4 features, 3 classes) whose logits are known exactly, so a case can check the
 * output as well as the error; and helpers to move its weights to external data, and to encode a
 * model so deeply nested that a recursive reader would overflow its stack.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  ModelProtoSchema,
  GraphProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType as DT,
  type ModelProto,
  type TensorProto,
} from 'onnx-buf';
import { valueInfoToProto } from '../../src/onnx/graph.js';
import { encodeTensor } from '../../src/onnx/tensor-proto.js';

export const FEATURES = 4;
export const CLASSES = 3;
export const W = Float32Array.from({ length: FEATURES * CLASSES }, (_, i) => ((i % 5) - 2) * 0.5 + 0.125 * Math.floor(i / 3));
export const B = Float32Array.of(0.1, -0.2, 0.3);

/** x·W + B for rows of `x` (float32 arithmetic is close enough to onnxruntime's for 1e-5). */
export function linearLogits(x: Float32Array, w: Float32Array = W, b: Float32Array = B): number[] {
  const rows = x.length / FEATURES;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < CLASSES; c++) {
      let s = b[c]!;
      for (let f = 0; f < FEATURES; f++) s += x[r * FEATURES + f]! * w[f * CLASSES + c]!;
      out.push(s);
    }
  }
  return out;
}

/** The linear classifier as a ModelProto (opset 13, IR 7, dynamic batch). */
export function linearModel(): ModelProto {
  const graph = create(GraphProtoSchema, {
    name: 'linear',
    node: [
      create(NodeProtoSchema, { name: 'matmul', opType: 'MatMul', input: ['x', 'W'], output: ['h'] }),
      create(NodeProtoSchema, { name: 'add', opType: 'Add', input: ['h', 'B'], output: ['logits'] }),
    ],
    input: [valueInfoToProto({ name: 'x', dataType: DT.FLOAT, shape: ['N', FEATURES] })],
    output: [valueInfoToProto({ name: 'logits', dataType: DT.FLOAT, shape: ['N', CLASSES] })],
    initializer: [encodeTensor('W', DT.FLOAT, [FEATURES, CLASSES], W.slice()), encodeTensor('B', DT.FLOAT, [CLASSES], B.slice())],
  });
  return create(ModelProtoSchema, {
    irVersion: 7n,
    producerName: 'gibbon-hostile',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })],
    graph,
  });
}

export function encode(m: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, m);
}

/** Marks `t` as external data with these key/value entries (its raw data removed). */
export function makeExternal(t: TensorProto, entries: Record<string, string>): void {
  t.rawData = new Uint8Array(0);
  t.dataLocation = TensorProto_DataLocation.EXTERNAL;
  t.externalData = Object.entries(entries).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
}

/** The bytes of W followed by B, as a weights file for external data. */
export function weightsFile(): Uint8Array {
  const out = new Uint8Array(W.byteLength + B.byteLength);
  out.set(new Uint8Array(W.buffer.slice(0)), 0);
  out.set(new Uint8Array(B.buffer.slice(0)), W.byteLength);
  return out;
}

/** The linear model with W and B in external data at `locations` (offsets into one file when equal). */
export function externalModel(wEntries: Record<string, string>, bEntries: Record<string, string>): Uint8Array {
  const m = linearModel();
  const [w, b] = m.graph!.initializer;
  makeExternal(w!, wEntries);
  makeExternal(b!, bEntries);
  return encode(m);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/**
 * A ModelProto whose graph holds a node whose attribute holds a graph … `depth` times, written
 * directly as protobuf wire bytes (outermost first, lengths computed from the inside out), so the
 * test itself never recurses.
 */
export function nestedGraphModel(depth: number): Uint8Array {
  // graph_k = 0x0a len(node_k) node_k; node_k = 0x2a len(attr_k) attr_k; attr_k = 0x0a 01 'g' 0x32 len(graph_{k-1}) graph_{k-1}
  const graphLen: number[] = [0];
  const nodeLen: number[] = [0];
  const attrLen: number[] = [0];
  for (let k = 1; k <= depth; k++) {
    attrLen[k] = 3 + 1 + varint(graphLen[k - 1]!).length + graphLen[k - 1]!;
    nodeLen[k] = 1 + varint(attrLen[k]!).length + attrLen[k]!;
    graphLen[k] = 1 + varint(nodeLen[k]!).length + nodeLen[k]!;
  }
  const head = [0x08, 7, 0x42, 2, 0x10, 13, 0x3a, ...varint(graphLen[depth]!)];
  const out = new Uint8Array(head.length + graphLen[depth]!);
  out.set(head);
  let p = head.length;
  const put = (bytes: number[]): void => {
    out.set(bytes, p);
    p += bytes.length;
  };
  for (let k = depth; k >= 1; k--) {
    put([0x0a, ...varint(nodeLen[k]!)]);
    put([0x2a, ...varint(attrLen[k]!)]);
    put([0x0a, 1, 0x67, 0x32, ...varint(graphLen[k - 1]!)]);
  }
  return out;
}
