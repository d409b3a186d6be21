/**
 * Reading and writing ONNX model files with the protobuf schema of `onnx-buf` (no hand-written
 * wire parsing). External-data tensors are loaded into memory so the model can be handed to
 * onnxruntime as one buffer.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { dirname, resolve, isAbsolute } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema, TensorProto_DataLocation, type ModelProto, type TensorProto, type GraphProto } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { graphFromProto, graphToProto, type Graph } from './graph.js';
import { validateGraph } from './validate.js';
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
  if (!existsSync(path)) throw new GibbonError('file_not_found', `model file not found: ${path}`, { path });
  if (statSync(path).isDirectory()) throw new GibbonError('invalid_onnx', `${path} is a directory, not an ONNX model file`, { path });
  const bytes = readFileSync(path);
  return parseModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { path });
}

export function parseModel(bytes: Uint8Array, options: { path?: string; baseDir?: string } = {}): ModelIR {
  const where = options.path ?? '<buffer>';
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new GibbonError('invalid_onnx', `${where} is not a valid ONNX model (protobuf decoding failed: ${(e as Error).message}); is the file truncated or not ONNX?`, { path: options.path }, { cause: e });
  }
  if (!proto.graph || proto.graph.node.length === 0 || proto.irVersion === 0n) {
    throw new GibbonError('invalid_onnx', `${where} is not an ONNX model (no IR version or no graph nodes found)`, { path: options.path });
  }
  const baseDir = options.baseDir ?? (options.path ? dirname(resolve(options.path)) : undefined);
  resolveExternalData(proto.graph, baseDir, where);
  const opset = defaultOpset(proto);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new GibbonError('unsupported_opset', `${where} uses default-domain opset ${opset}; gibbon supports opsets ${MIN_OPSET}–${MAX_OPSET}`, { path: options.path });
  }
  const graph = liftConstantWeights(graphFromProto(proto.graph)).graph; // weights in Constant nodes become initializers
  validateGraph(graph, where);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { proto, graph, opset, path: options.path, sha256 };
}

function defaultOpset(proto: ModelProto): number {
  const imp = proto.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!imp) throw new GibbonError('invalid_onnx', 'model declares no default-domain opset import');
  return Number(imp.version);
}

function resolveExternalData(g: GraphProto, baseDir: string | undefined, where: string): void {
  const tensors: TensorProto[] = [...g.initializer];
  for (const n of g.node) for (const a of n.attribute) if (a.t) tensors.push(a.t);
  for (const t of tensors) {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) continue;
    const info = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = info.get('location');
    if (!location) throw new GibbonError('invalid_onnx', `tensor '${t.name}' in ${where} has external data without a location`);
    if (!baseDir) throw new GibbonError('invalid_onnx', `tensor '${t.name}' has external data (${location}) but the model was not read from a file`);
    const file = isAbsolute(location) ? location : resolve(baseDir, location);
    if (!existsSync(file)) throw new GibbonError('file_not_found', `external data file ${file} for tensor '${t.name}' not found`, { path: file });
    const all = readFileSync(file);
    const offset = Number(info.get('offset') ?? 0);
    const length = info.has('length') ? Number(info.get('length')) : all.byteLength - offset;
    if (offset + length > all.byteLength) {
      throw new GibbonError('invalid_onnx', `external data for tensor '${t.name}' runs past the end of ${file} (offset ${offset} + length ${length} > ${all.byteLength})`, { path: file });
    }
    t.rawData = new Uint8Array(all.subarray(offset, offset + length));
    t.dataLocation = TensorProto_DataLocation.DEFAULT;
    t.externalData = [];
  }
  for (const n of g.node) for (const a of n.attribute) {
    if (a.g) resolveExternalData(a.g, baseDir, where);
    for (const sub of a.graphs) resolveExternalData(sub, baseDir, where);
  }
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
  try {
    writeFileSync(path, serializeModel(model));
  } catch (e) {
    throw new GibbonError('file_unwritable', `cannot write model to ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
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
