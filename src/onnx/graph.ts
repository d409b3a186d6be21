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

/** Deepest nesting of subgraphs (If/Loop/Scan bodies inside bodies) gibbon accepts. */
export const MAX_SUBGRAPH_DEPTH = 32;

/** The subgraph attributes of a node (If's branches, Loop's and Scan's body), in attribute order. */
export function subgraphAttributes(n: Node): { name: string; graph: GraphProto }[] {
  const out: { name: string; graph: GraphProto }[] = [];
  for (const a of n.attributes) {
    if (a.g) out.push({ name: a.name, graph: a.g });
    if (a.graphs.length) a.graphs.forEach((graph, i) => out.push({ name: `${a.name}[${i}]`, graph }));
  }
  return out;
}

/** Whether any node of the graph holds a subgraph. */
export function hasSubgraphs(g: Graph): boolean {
  return g.nodes.some((n) => n.attributes.some((a) => a.g !== undefined || a.graphs.length > 0));
}

function depthError(where: string): GibbonError {
  return new GibbonError('invalid_model', `subgraphs are nested more than ${MAX_SUBGRAPH_DEPTH} deep (at ${where}); gibbon refuses such models`);
}

/**
 * Values a subgraph reads from its enclosing scopes: names used by its nodes (or by nodes of its own
 * subgraphs, at any depth) that it neither defines nor receives as inputs or initializers. Iterative,
 * and refuses nesting deeper than MAX_SUBGRAPH_DEPTH.
 */
export function outerReads(sub: GraphProto, depth = 1): string[] {
  const reads: string[] = [];
  const seen = new Set<string>();
  // Each frame: a graph and the names defined by it and its ancestors up to `sub`.
  const stack: { graph: GraphProto; defined: ReadonlySet<string>; depth: number }[] = [];
  const push = (graph: GraphProto, outer: ReadonlySet<string>, d: number): void => {
    if (d > MAX_SUBGRAPH_DEPTH) throw depthError(`subgraph '${graph.name}'`);
    const defined = new Set(outer);
    for (const v of graph.input) defined.add(v.name);
    for (const t of graph.initializer) defined.add(t.name);
    for (const n of graph.node) for (const o of n.output) if (o) defined.add(o);
    stack.push({ graph, defined, depth: d });
  };
  push(sub, new Set(), depth);
  while (stack.length) {
    const { graph, defined, depth: d } = stack.pop()!;
    const use = (v: string): void => {
      if (v && !defined.has(v) && !seen.has(v)) {
        seen.add(v);
        reads.push(v);
      }
    };
    for (const n of graph.node) {
      for (const i of n.input) use(i);
      for (const a of n.attribute) {
        if (a.g) push(a.g, defined, d + 1);
        for (const x of a.graphs) push(x, defined, d + 1);
      }
    }
    for (const o of graph.output) use(o.name);
  }
  return reads;
}

/**
 * Everything a node reads: its inputs, then the outer-scope values its subgraphs read (an If's
 * branches see the enclosing graph's values without naming them as inputs).
 */
export function nodeReads(n: Node): string[] {
  const subs = subgraphAttributes(n);
  if (subs.length === 0) return n.inputs;
  const reads = [...n.inputs];
  const seen = new Set(reads);
  for (const s of subs)
    for (const v of outerReads(s.graph))
      if (!seen.has(v)) {
        seen.add(v);
        reads.push(v);
      }
  return reads;
}

export interface SortOptions {
  /** Values of enclosing scopes (a subgraph's outer reads): available without a producer. */
  outerScope?: ReadonlySet<string> | 'any';
}

/**
 * Nodes in topological order, counting the outer-scope values a node's subgraphs read as its
 * inputs. Iterative (Kahn's algorithm with a stable order), so any size of graph is fine. Throws
 * naming a node whose input is never produced, or a node on a cycle.
 */
export function topologicalSort(g: Graph, options: SortOptions = {}): Node[] {
  const available = new Set<string>(['']);
  for (const v of g.inputs) available.add(v.name);
  for (const k of g.initializers.keys()) available.add(k);
  const prod = producers(g);
  const outer = options.outerScope;
  const waiting = new Map<Node, number>();
  const dependents = new Map<Node, Node[]>();
  const ready: Node[] = [];
  for (const n of g.nodes) {
    const deps = new Set<Node>();
    for (const i of nodeReads(n)) {
      if (available.has(i)) continue;
      const p = prod.get(i);
      if (!p) {
        if (outer === 'any' || outer?.has(i)) continue;
        throw new GibbonError('invalid_graph', `input '${i}' of node '${n.name}' (${n.opType}) is not produced by any node, initializer or graph input`, {
          node: { name: n.name, opType: n.opType },
        });
      }
      if (p === n)
        throw new GibbonError('invalid_graph', `graph has a cycle through node '${n.name}' (${n.opType})`, { node: { name: n.name, opType: n.opType } });
      deps.add(p);
    }
    waiting.set(n, deps.size);
    for (const p of deps) {
      const list = dependents.get(p);
      if (list) list.push(n);
      else dependents.set(p, [n]);
    }
    if (deps.size === 0) ready.push(n);
  }
  // Keep the file's order where it is already valid: release nodes in their original positions.
  const position = new Map<Node, number>();
  g.nodes.forEach((n, i) => position.set(n, i));
  const order: Node[] = [];
  const heap = new MinHeap<Node>((a, b) => position.get(a)! - position.get(b)!);
  for (const n of ready) heap.push(n);
  while (heap.size > 0) {
    const n = heap.pop()!;
    order.push(n);
    for (const d of dependents.get(n) ?? []) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) heap.push(d);
    }
  }
  if (order.length < g.nodes.length) {
    const stuck = g.nodes.find((n) => waiting.get(n)! > 0)!;
    throw new GibbonError('invalid_graph', `graph has a cycle through node '${stuck.name}' (${stuck.opType})`, {
      node: { name: stuck.name, opType: stuck.opType },
    });
  }
  return order;
}

class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  push(x: T): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Names of all values a set of target values depends on (including themselves), through subgraph
 * reads too; `skip(node, i)` leaves out a node's i-th input (e.g. an If's condition).
 */
export function ancestorsOf(g: Graph, targets: Iterable<string>, options: { skip?: (n: Node, input: number) => boolean } = {}): Set<string> {
  const prod = producers(g);
  const reads = new Map<Node, string[]>();
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length) {
    const v = stack.pop()!;
    if (!v || seen.has(v)) continue;
    seen.add(v);
    const p = prod.get(v);
    if (!p) continue;
    let r = reads.get(p);
    if (!r) reads.set(p, (r = nodeReads(p)));
    const skip = options.skip;
    r.forEach((read, i) => {
      if (!(skip && i < p.inputs.length && skip(p, i))) stack.push(read);
    });
  }
  return seen;
}
