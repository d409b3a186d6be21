/**
 * Structural validation of a graph, with errors that name the offending node: every value has one
 * producer, every input is produced before use (no cycles), outputs exist, names are non-empty.
 * onnxruntime checks op semantics when it loads the model; this catches what would otherwise
 * surface as a confusing failure deep inside gradient construction. validateModelProto checks the
 * decoded protobuf itself (versions, tensor sizes, names) before anything is allocated from it.
 */
import { TensorProto_DataLocation, type GraphProto, type ModelProto, type TensorProto, type ValueInfoProto } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { DataType as DT, dataTypeName, elementBytes } from './dtypes.js';
import { topologicalSort, type Graph } from './graph.js';

export function validateGraph(g: Graph, where = 'model'): void {
  if (g.inputs.length === 0) throw new GibbonError('invalid_graph', `${where} has no graph inputs`);
  if (g.outputs.length === 0) throw new GibbonError('invalid_graph', `${where} has no graph outputs`);
  const produced = new Map<string, string>();
  for (const v of g.inputs) produced.set(v.name, `graph input '${v.name}'`);
  for (const k of g.initializers.keys()) if (!produced.has(k)) produced.set(k, `initializer '${k}'`);
  for (const n of g.nodes) {
    const loc = { node: { name: n.name, opType: n.opType } };
    if (!n.opType) throw new GibbonError('invalid_graph', `node '${n.name}' has no op type`, loc);
    if (n.outputs.length === 0) throw new GibbonError('invalid_graph', `node '${n.name}' (${n.opType}) has no outputs`, loc);
    for (const o of n.outputs) {
      if (!o) continue;
      const previous = produced.get(o);
      if (previous) throw new GibbonError('invalid_graph', `value '${o}' is produced by node '${n.name}' (${n.opType}) and also by ${previous}`, loc);
      produced.set(o, `node '${n.name}'`);
    }
  }
  for (const o of g.outputs) {
    if (!produced.has(o.name)) throw new GibbonError('invalid_graph', `graph output '${o.name}' is not produced by any node`);
  }
  topologicalSort(g);
}

/** Highest IR version accepted (ONNX 1.20 writes 12); anything above is not a model onnxruntime can run. */
export const MAX_IR_VERSION = 12n;
/** Opset versions above this are not versions of any released operator set. */
const MAX_ANY_OPSET = 1000n;

/** Number of elements a tensor's dims declare, or an error for negative or overflowing dims. */
export function checkedElementCount(dims: readonly bigint[], what: string, where: string): number {
  let n = 1;
  for (const d of dims) {
    if (d < 0n) throw new GibbonError('invalid_onnx', `${what} in ${where} has a negative dimension ${d} (dims [${dims.join(', ')}])`, { path: where });
    n *= Number(d);
  }
  if (!Number.isSafeInteger(n))
    throw new GibbonError('invalid_onnx', `${what} in ${where} declares dims [${dims.join(', ')}]: ${n} elements, more than any model can hold`, {
      path: where,
    });
  return n;
}

function checkTensor(t: TensorProto, what: string, where: string): void {
  const n = checkedElementCount(t.dims, what, where);
  if (t.dataType === DT.UNDEFINED) throw new GibbonError('invalid_onnx', `${what} in ${where} has no data type`, { path: where });
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) return; // checked when the data is read
  const bytes = elementBytes(t.dataType);
  if (bytes !== undefined && t.rawData.byteLength > 0 && t.rawData.byteLength !== n * bytes) {
    throw new GibbonError(
      'invalid_onnx',
      `${what} in ${where} has ${t.rawData.byteLength} bytes of raw data, but its dims [${t.dims.join(', ')}] of ${dataTypeName(t.dataType)} need ${n * bytes}`,
      { path: where },
    );
  }
  const typed = t.floatData.length + t.int32Data.length + t.int64Data.length + t.doubleData.length + t.uint64Data.length;
  if (t.rawData.byteLength === 0 && typed > 0 && typed !== n * (t.dataType === DT.COMPLEX64 || t.dataType === DT.COMPLEX128 ? 2 : 1)) {
    throw new GibbonError('invalid_onnx', `${what} in ${where} holds ${typed} values, but its dims [${t.dims.join(', ')}] need ${n}`, { path: where });
  }
}

function checkValueInfo(v: ValueInfoProto, what: string, where: string): void {
  if (v.type?.value.case !== 'tensorType') return;
  for (const d of v.type.value.value.shape?.dim ?? []) {
    if (d.value.case === 'dimValue' && d.value.value < 0n) {
      throw new GibbonError('invalid_onnx', `${what} '${v.name}' in ${where} declares a negative dimension ${d.value.value}`, { path: where });
    }
  }
}

/**
 * Checks what the protobuf says before anything is derived from it: IR version and opset imports
 * within reason, and in every graph and subgraph (walked without recursion) tensors whose dims are
 * non-negative and match their data, unique initializer names, non-negative declared dimensions.
 */
export function validateModelProto(proto: ModelProto, where: string): void {
  if (proto.irVersion < 1n || proto.irVersion > MAX_IR_VERSION) {
    throw new GibbonError('invalid_onnx', `${where} declares IR version ${proto.irVersion}; ONNX IR versions are 1–${MAX_IR_VERSION}`, { path: where });
  }
  const opsets = new Map<string, bigint>();
  for (const o of proto.opsetImport) {
    const domain = o.domain === 'ai.onnx' ? '' : o.domain;
    if (o.version < 1n || o.version > MAX_ANY_OPSET) {
      throw new GibbonError('unsupported_opset', `${where} imports opset ${o.version} of domain '${domain || 'ai.onnx'}', which does not exist`, {
        path: where,
      });
    }
    const previous = opsets.get(domain);
    if (previous !== undefined && previous !== o.version) {
      throw new GibbonError('invalid_onnx', `${where} imports domain '${domain || 'ai.onnx'}' twice, at opsets ${previous} and ${o.version}`, { path: where });
    }
    opsets.set(domain, o.version);
  }
  if (!proto.graph) return;
  const stack: GraphProto[] = [proto.graph];
  while (stack.length > 0) {
    const g = stack.pop()!;
    const names = new Set<string>();
    for (const t of g.initializer) {
      const what = t.name ? `initializer '${t.name}'` : 'an initializer without a name';
      if (!t.name) throw new GibbonError('invalid_onnx', `${what} in graph '${g.name}' of ${where}`, { path: where });
      if (names.has(t.name)) throw new GibbonError('invalid_onnx', `${where} has two initializers named '${t.name}' in graph '${g.name}'`, { path: where });
      names.add(t.name);
      checkTensor(t, what, where);
    }
    for (const v of g.input) checkValueInfo(v, 'graph input', where);
    for (const v of g.output) checkValueInfo(v, 'graph output', where);
    for (const n of g.node) {
      for (const a of n.attribute) {
        const what = `attribute '${a.name}' of node '${n.name || n.opType}'`;
        if (a.t) checkTensor(a.t, what, where);
        for (const t of a.tensors) checkTensor(t, what, where);
        if (a.g) stack.push(a.g);
        stack.push(...a.graphs);
      }
    }
  }
}
