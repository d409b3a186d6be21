/**
 * Appends nodes and constants to a graph with fresh, readable value names. Gradient rules and loss
 * heads use it to emit ONNX; they never compute numbers themselves.
 */
import { makeAttribute, type AttrValue } from './attributes.js';
import { DataType as DT, type NumericArray } from './dtypes.js';
import type { Graph, Node } from './graph.js';
import { encodeTensor } from './tensor-proto.js';

export interface NodeOptions {
  /** Number of outputs (default 1). */
  outputs?: number;
  domain?: string;
  /** Prefix for the node and value names. */
  name?: string;
  /** Explicit output names (instead of fresh ones). */
  outputNames?: string[];
}

export class GraphBuilder {
  private counter = 0;
  private readonly used: Set<string>;
  private readonly constCache = new Map<string, string>();

  /**
   * `used`: a set of names shared with other builders (e.g. those of a model's subgraphs, whose
   * value names must not collide with the enclosing graphs'); the graph's own names are added to it.
   */
  constructor(
    readonly graph: Graph,
    private readonly prefix = 'gibbon',
    used?: Set<string>,
  ) {
    this.used = used ?? new Set<string>();
    for (const n of graph.nodes) {
      this.used.add(n.name);
      for (const o of n.outputs) this.used.add(o);
    }
    for (const v of graph.inputs) this.used.add(v.name);
    for (const k of graph.initializers.keys()) this.used.add(k);
  }

  /**
   * A builder emitting into `sub` (a subgraph of this builder's graph) that shares this builder's
   * names, counter prefix and constants: constants stay initializers of the outer graph, which the
   * subgraph reads from its enclosing scope.
   */
  child(sub: Graph, prefix = this.prefix): GraphBuilder {
    const b = new GraphBuilder(sub, prefix, this.used);
    b.constantTarget = this.constantTarget ?? this;
    return b;
  }

  /** The builder whose graph holds constants (the outermost one). */
  private constantTarget: GraphBuilder | undefined;

  /** A value or node name not used anywhere in the graph. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}/${hint}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Emits a node; returns its output names. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue | undefined> = {}, options: NodeOptions = {}): string[] {
    const hint = options.name ?? opType;
    const count = options.outputNames?.length ?? options.outputs ?? 1;
    const outputs = options.outputNames ?? Array.from({ length: count }, () => this.fresh(hint));
    for (const o of outputs) this.used.add(o);
    const attributes = Object.entries(attrs)
      .filter((e): e is [string, AttrValue] => e[1] !== undefined)
      .map(([k, v]) => makeAttribute(k, v));
    const node: Node = { name: this.fresh(`${hint}_node`), opType, domain: options.domain ?? '', inputs: [...inputs], outputs, attributes };
    this.graph.nodes.push(node);
    return outputs;
  }

  /**
   * Replaces each node of the graph for which `rewrite` returns true by the nodes `rewrite` emitted
   * through this builder, in that node's place (so a topological order stays one); the other nodes
   * stay as they are. Returns how many nodes were replaced.
   */
  replaceNodes(rewrite: (n: Node) => boolean): number {
    const g = this.graph;
    const nodes = g.nodes;
    const rewritten: Node[] = [];
    let count = 0;
    try {
      for (const n of nodes) {
        g.nodes = []; // the builder appends here: this node's replacement
        if (rewrite(n)) {
          rewritten.push(...g.nodes);
          count++;
        } else rewritten.push(n);
      }
    } finally {
      g.nodes = nodes;
    }
    g.nodes = rewritten;
    return count;
  }

  /** Emits a single-output node; returns its output name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue | undefined> = {}, options: NodeOptions = {}): string {
    return this.node(opType, inputs, attrs, { ...options, outputs: 1 })[0]!;
  }

  /** An initializer holding the given values (deduplicated for small constants). */
  constant(dataType: number, dims: readonly number[], data: NumericArray, hint = 'const'): string {
    if (this.constantTarget) return this.constantTarget.constant(dataType, dims, data, hint);
    const small = data.length <= 16;
    const key = small ? `${dataType}|${dims.join(',')}|${Array.from(data as ArrayLike<number | bigint>, String).join(',')}` : '';
    if (small) {
      const cached = this.constCache.get(key);
      if (cached) return cached;
    }
    const name = this.fresh(hint);
    this.graph.initializers.set(name, encodeTensor(name, dataType, dims, data));
    if (small) this.constCache.set(key, name);
    return name;
  }

  /** int64 constants; values beyond the int64 range (e.g. 2**63 read back from INT64_MAX) are clamped, not wrapped. */
  int64s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(DT.INT64, dims, BigInt64Array.from(values, toInt64), 'i64');
  }

  int64Scalar(value: number): string {
    return this.constant(DT.INT64, [], BigInt64Array.of(toInt64(value)), 'i64');
  }

  /** A float scalar (or tensor) of the given ONNX float type. */
  scalar(value: number, dataType: number = DT.FLOAT, dims: readonly number[] = []): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = dataType === DT.DOUBLE ? new Float64Array(n).fill(value) : new Float32Array(n).fill(value);
    if (dataType !== DT.FLOAT && dataType !== DT.DOUBLE) {
      // float16 and friends: make a float32 constant and cast it.
      return this.op('Cast', [this.constant(DT.FLOAT, dims, data, 'f32')], { to: dataType });
    }
    return this.constant(dataType, dims, data, 'f');
  }
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function toInt64(v: number): bigint {
  if (!Number.isFinite(v)) return v > 0 ? INT64_MAX : INT64_MIN;
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}
