/**
 * Reading and writing ONNX model files with the protobuf schema of `onnx-buf` (no hand-written
 * wire parsing). External-data tensors are loaded into memory so the model can be handed to
 * onnxruntime as one buffer.
 */
import { createHash } from 'node:crypto';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { dirname, resolve } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema, type ModelProto } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { readRegularFile } from '../tensor/regular-file.js';
import { graphFromProto, graphToProto, type Graph } from './graph.js';
import { resolveExternalData } from './external-data.js';
import { validateGraph, validateModelProto } from './validate.js';
import { liftConstantWeights } from './lift-constants.js';

/** Lowest and highest default-domain opsets gibbon accepts. */
export const MIN_OPSET = 9;
export const MAX_OPSET = 22;

export interface ModelIR {
  /** Everything but the graph (producer, opset imports, metadata) as read. */
  readonly proto: ModelProto;
  graph: Graph;
  /** Default-domain ("" / "ai.onnx") opset version. */
  opset: number;
  /** Where it was read from, if from a file. */
  readonly path?: string;
  /** sha256 of the file bytes, if read from bytes. */
  readonly sha256?: string;
}

export function loadModel(path: string): ModelIR {
  // A protobuf message is at most 2 GiB; bigger weights belong in external data.
  const bytes = readRegularFile(path, { what: 'ONNX model file', code: 'invalid_onnx', maxBytes: 2 ** 31 - 1 });
  return parseModel(bytes, { path });
}

export function parseModel(bytes: Uint8Array, options: { path?: string; baseDir?: string } = {}): ModelIR {
  const where = options.path ?? '<buffer>';
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new GibbonError(
      'invalid_onnx',
      `${where} is not a valid ONNX model (protobuf decoding failed: ${(e as Error).message}); is the file truncated or not ONNX?`,
      { path: options.path },
      { cause: e },
    );
  }
  if (!proto.graph || proto.graph.node.length === 0 || proto.irVersion === 0n) {
    throw new GibbonError('invalid_onnx', `${where} is not an ONNX model (no IR version or no graph nodes found)`, { path: options.path });
  }
  validateModelProto(proto, where);
  const opset = defaultOpset(proto, where);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new GibbonError('unsupported_opset', `${where} uses default-domain opset ${opset}; gibbon supports opsets ${MIN_OPSET}–${MAX_OPSET}`, {
      path: options.path,
    });
  }
  const baseDir = options.baseDir ?? (options.path ? dirname(resolve(options.path)) : undefined);
  resolveExternalData(proto.graph, baseDir, where);
  const graph = liftConstantWeights(graphFromProto(proto.graph)).graph; // weights in Constant nodes become initializers
  validateGraph(graph, where);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { proto, graph, opset, path: options.path, sha256 };
}

function defaultOpset(proto: ModelProto, where: string): number {
  const imp = proto.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!imp) throw new GibbonError('invalid_onnx', `${where} declares no default-domain opset import`, { path: where });
  return Number(imp.version);
}

/** A ModelProto for the IR, with the default-domain opset set to `model.opset`. */
export function toModelProto(model: ModelIR): ModelProto {
  const opsetImport = model.proto.opsetImport
    .filter((o) => !(o.domain === '' || o.domain === 'ai.onnx'))
    .concat([create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(model.opset) })]);
  let irVersion = model.proto.irVersion;
  const minIr = model.opset >= 21 ? 10n : model.opset >= 19 ? 9n : model.opset >= 15 ? 8n : model.opset >= 13 ? 7n : irVersion;
  if (irVersion < minIr) irVersion = minIr;
  return create(ModelProtoSchema, { ...model.proto, irVersion, opsetImport, graph: graphToProto(model.graph) });
}

export function serializeModel(model: ModelIR): Uint8Array {
  return toBinary(ModelProtoSchema, toModelProto(model));
}

export function saveModel(model: ModelIR, path: string): void {
  // Through a temporary file and a rename: a full disk or a kill never leaves half a model in place of the old one.
  writeFileAtomically(path, [serializeModel(model)], { what: 'model to', createFolder: false });
}

/** A deep copy, so transforms never mutate the caller's model. */
export function cloneModel(model: ModelIR): ModelIR {
  const g = model.graph;
  return {
    ...model,
    graph: {
      name: g.name,
      nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: [...n.attributes] })),
      inputs: g.inputs.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : null })),
      outputs: g.outputs.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : null })),
      initializers: new Map(g.initializers),
      valueInfo: [...g.valueInfo],
    },
  };
}
