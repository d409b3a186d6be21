/**
 * A small mutable graph IR over ONNX: nodes with input/output value names, initializers kept as
 * TensorProto (so they are written back byte-exact), graph inputs/outputs with their declared
 * types. Conversions to and from GraphProto live here too.
 */
import { create } from '@bufbuild/protobuf';
import {
  GraphProtoSchema,
  NodeProtoSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { GibbonError } from '../errors.js';

/** A dimension: a size, a symbolic name (dynamic), or null (unknown). */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  /** ONNX data type (0 when not declared). */
  dataType: number;
  /** null when the rank is unknown. */
  shape: Dim[] | null;
}

export interface Node {
  name: string;
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: AttributeProto[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, TensorProto>;
  /** Declared types of intermediate values (may be empty). */
  valueInfo: ValueInfo[];
}

export function valueInfoFromProto(v: ValueInfoProto): ValueInfo {
  if (v.type?.value.case !== 'tensorType') return { name: v.name, dataType: 0, shape: null };
  const t = v.type.value.value;
  const shape = t.shape
    ? t.shape.dim.map((d): Dim => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : null))
    : null;
  return { name: v.name, dataType: t.elemType, shape };
}

export function valueInfoToProto(v: ValueInfo): ValueInfoProto {
  // An undeclared type stays undeclared: onnxruntime infers it.
  if (v.dataType === 0) return create(ValueInfoProtoSchema, { name: v.name });
  const dims = v.shape?.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : typeof d === 'string' ? { case: 'dimParam', value: d } : { case: undefined },
    }),
  );
  const tensorType = create(TypeProto_TensorSchema, {
    elemType: v.dataType,
    shape: dims ? create(TensorShapeProtoSchema, { dim: dims }) : undefined,
  });
  return create(ValueInfoProtoSchema, { name: v.name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

export function graphFromProto(g: GraphProto): Graph {
  const initializers = new Map<string, TensorProto>();
  for (const t of g.initializer) initializers.set(t.name, t);
  if (g.sparseInitializer.length > 0) {
    throw new GibbonError('invalid_model', `graph '${g.name}' has sparse initializers, which gibbon does not support`);
  }
  const nodes = g.node.map((n, i) => ({
    name: n.name || `${n.opType}_${i}`,
    opType: n.opType,
    domain: n.domain === 'ai.onnx' ? '' : n.domain,
    inputs: [...n.input],
    outputs: [...n.output],
    attributes: [...n.attribute],
  }));
  return {
    name: g.name,
    nodes,
    // Older exporters list initializers among the inputs too; those are not real inputs.
    inputs: g.input.filter((v) => !initializers.has(v.name)).map(valueInfoFromProto),
    outputs: g.output.map(valueInfoFromProto),
    initializers,
    valueInfo: g.valueInfo.map(valueInfoFromProto),
  };
}

export function graphToProto(g: Graph): GraphProto {
  return create(GraphProtoSchema, {
    name: g.name,
    node: g.nodes.map((n) =>
      create(NodeProtoSchema, { name: n.name, opType: n.opType, domain: n.domain, input: n.inputs, output: n.outputs, attribute: n.attributes }),
    ),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
    initializer: [...g.initializers.values()],
    valueInfo: g.valueInfo.map(valueInfoToProto),
  });
}

/** Map from value name to the node producing it. */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** Map from value name to the nodes consuming it. */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

/**
 * Nodes in topological order. Throws naming a node whose input is never produced, or a cycle.
 * Subgraph attributes (If/Loop bodies) may read outer values; those are not followed here.
 */
export function topologicalSort(g: Graph): Node[] {
  const available = new Set<string>(['']);
  for (const v of g.inputs) available.add(v.name);
  for (const k of g.initializers.keys()) available.add(k);
  const prod = producers(g);
  const order: Node[] = [];
  const state = new Map<Node, 'visiting' | 'done'>();
  const visit = (n: Node): void => {
    const s = state.get(n);
    if (s === 'done') return;
    if (s === 'visiting') throw new GibbonError('invalid_graph', `graph has a cycle through node '${n.name}' (${n.opType})`, { node: { name: n.name, opType: n.opType } });
    state.set(n, 'visiting');
    for (const i of n.inputs) {
      if (available.has(i)) continue;
      const p = prod.get(i);
      if (!p) {
        throw new GibbonError('invalid_graph', `input '${i}' of node '${n.name}' (${n.opType}) is not produced by any node, initializer or graph input`, {
          node: { name: n.name, opType: n.opType },
        });
      }
      visit(p);
    }
    state.set(n, 'done');
    order.push(n);
  };
  for (const n of g.nodes) visit(n);
  return order;
}

/** Names of all values a set of target values depends on (including themselves). */
export function ancestorsOf(g: Graph, targets: Iterable<string>): Set<string> {
  const prod = producers(g);
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length) {
    const v = stack.pop()!;
    if (!v || seen.has(v)) continue;
    seen.add(v);
    const p = prod.get(v);
    if (p) for (const i of p.inputs) stack.push(i);
  }
  return seen;
}
