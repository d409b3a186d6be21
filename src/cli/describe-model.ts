/**
 * What `gibbon info` reports about a model, as data: inputs and outputs, opsets, op counts, which
 * ops gibbon can differentiate (and which lie on the gradient path from the input to the class
 * scores), whether the model outputs probabilities or one (binary) score, and its parameters. Pure: no onnxruntime.
 */
import { DEFAULT_VJP_REGISTRY, trainableInitializers } from '../autodiff/gradient-graph.js';
import { findLogits } from '../onnx/logits.js';
import type { VjpRegistry } from '../autodiff/registry.js';
import { RECURRENT_OP_TYPES } from '../autodiff/unroll-recurrent.js';
import { NON_DIFFERENTIABLE_OPS, SHAPE_OPS } from '../autodiff/vjp-rule.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { dataTypeName, isFloatType } from '../onnx/dtypes.js';
import {
  ancestorsOf,
  graphFromProto,
  nodeReads,
  producers,
  subgraphAttributes,
  topologicalSort,
  type Dim,
  type Graph,
  type Node,
  type ValueInfo,
} from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';

/**
 * How gibbon differentiates an op: with a gradient rule; not at all because it only handles shapes
 * or constants; as non-differentiable (zero gradient almost everywhere: BPDA can substitute); or not
 * supported (building a gradient through it fails with UnsupportedOpError).
 */
export type GradientSupport = 'rule' | 'shape' | 'non-differentiable' | 'unsupported';

export interface ValueDescription {
  readonly name: string;
  readonly dtype: string;
  /** Sizes, symbolic names for dynamic dimensions, null when unknown; null when the rank is unknown. */
  readonly shape: readonly Dim[] | null;
}

export interface OpDescription {
  /** 'domain::Op' outside the default domain. */
  readonly op: string;
  /** Nodes of this op anywhere in the model (main graph and subgraphs). */
  readonly count: number;
  /** Of those, nodes inside subgraphs (If branches, Loop/Scan bodies). */
  readonly inSubgraphs: number;
  readonly gradient: GradientSupport;
  /** Nodes of this op between the input and the class scores. */
  readonly onGradientPath: number;
}

export interface ModelDescription {
  readonly file: string | undefined;
  readonly sha256: string | undefined;
  readonly producer: string;
  readonly irVersion: number;
  /** Default-domain opset as stored in the file. */
  readonly opset: number;
  readonly otherDomains: readonly { readonly domain: string; readonly version: number }[];
  readonly inputs: readonly ValueDescription[];
  readonly outputs: readonly ValueDescription[];
  /** Nodes in the whole model, subgraphs included. */
  readonly nodes: number;
  /** Op types of the file's graph and its subgraphs, most frequent first. */
  readonly ops: readonly OpDescription[];
  /** Each subgraph of the file (at any depth), with its ops. */
  readonly subgraphs: readonly SubgraphDescription[];
  readonly gradient: {
    /** The input gradients are differentiated from. */
    readonly input: string | undefined;
    /** Ops without a gradient rule on the path from the input to the class scores (gradients fail). */
    readonly unsupportedOnPath: readonly string[];
    /** Ops without a gradient rule elsewhere in the graph (harmless for gradients). */
    readonly unsupportedElsewhere: readonly string[];
    /** Non-differentiable ops anywhere, and those on the gradient path. */
    readonly nonDifferentiable: readonly string[];
    readonly nonDifferentiableOnPath: readonly string[];
  };
  readonly output: {
    /**
     * 'probabilities': the output is a Softmax (or a Sigmoid per class), and gradients start from the
     * logits feeding it; 'one-score': one value per example (N, 1), a binary classifier read as the
     * two-class logits (0, s), behind a final Sigmoid if there is one.
     */
    readonly kind: 'logits' | 'probabilities' | 'log-probabilities' | 'one-score';
    /** The value gibbon uses as class scores (for one score, s). */
    readonly scores: string;
    /** The activation that ends the graph, looked through (LogSoftmax is used as it is). */
    readonly activation: 'Softmax' | 'Sigmoid' | 'LogSoftmax' | null;
    /** One score read as two classes. */
    readonly binary: boolean;
  };
  readonly parameters: { readonly tensors: number; readonly values: number };
  /** Initializers that are not trained (e.g. BatchNorm running statistics, integer shapes). */
  readonly constants: { readonly tensors: number; readonly values: number };
}

export interface SubgraphDescription {
  /** Where it sits: `If '/If' then_branch`, nested ones prefixed by their enclosing subgraph. */
  readonly path: string;
  readonly node: string;
  readonly opType: string;
  readonly attribute: string;
  readonly nodes: number;
  readonly ops: readonly { readonly op: string; readonly count: number; readonly onGradientPath: number }[];
  /**
   * 'path': some of its nodes lie between the input and the class scores; 'off-path'; 'folded' when
   * gibbon replaces it before differentiating (an If with a constant condition, an unrolled Loop).
   */
  readonly gradient: 'path' | 'off-path' | 'folded';
}

/** Inputs that steer control flow and carry no gradient: If's condition, Loop's trip count and condition. */
function isControlInput(n: Node, i: number): boolean {
  return n.domain === '' && ((n.opType === 'If' && i === 0) || (n.opType === 'Loop' && i < 2));
}

/** Values the gradient flows from: not through control inputs (a condition steers the gradient, it does not carry it). */
function gradientAncestors(g: Graph, targets: readonly string[]): Set<string> {
  return ancestorsOf(g, targets, { skip: isControlInput });
}

/** A subgraph's key across the file and its canonical form: owner node name and attribute, down the nesting. */
const subgraphKey = (parent: string, node: Node, attribute: string): string => `${parent}${parent ? ' › ' : ''}${node.opType} '${node.name}' ${attribute}`;

/** Every subgraph of a graph with its path, breadth first (depth is bounded by canonicalisation). */
function allSubgraphs(g: Graph): { key: string; owner: Node; attribute: string; graph: Graph }[] {
  const out: { key: string; owner: Node; attribute: string; graph: Graph }[] = [];
  const queue: { graph: Graph; key: string }[] = [{ graph: g, key: '' }];
  for (let i = 0; i < queue.length; i++) {
    const { graph, key } = queue[i]!;
    for (const n of graph.nodes) {
      for (const s of subgraphAttributes(n)) {
        const sub = graphFromProto(s.graph);
        const k = subgraphKey(key, n, s.name);
        out.push({ key: k, owner: n, attribute: s.name, graph: sub });
        queue.push({ graph: sub, key: k });
      }
    }
  }
  return out;
}

function describeValue(v: ValueInfo): ValueDescription {
  return { name: v.name, dtype: v.dataType ? dataTypeName(v.dataType) : 'unknown', shape: v.shape ? [...v.shape] : null };
}

const qualified = (opType: string, domain: string): string => (domain === '' || domain === 'ai.onnx' ? opType : `${domain}::${opType}`);

function classify(opType: string, domain: string, opset: number, registry: VjpRegistry): GradientSupport {
  const defaultDomain = domain === '' || domain === 'ai.onnx';
  if (defaultDomain && SHAPE_OPS.includes(opType)) return 'shape';
  if (defaultDomain && NON_DIFFERENTIABLE_OPS.includes(opType)) return 'non-differentiable';
  if (defaultDomain && (RECURRENT_OP_TYPES.includes(opType) || opType === 'Scan')) return 'rule'; // unrolled before backprop
  return registry.lookup(opType, opset, domain) ? 'rule' : 'unsupported';
}

function elementCount(dims: readonly bigint[]): number {
  return dims.reduce((a, d) => a * Number(d), 1);
}

export function describeModel(model: ModelIR, registry: VjpRegistry = DEFAULT_VJP_REGISTRY): ModelDescription {
  const g = model.graph;
  // Gradient support is judged on the canonical form, which is what the gradient engine sees.
  const canon = canonicalize(model);
  const cg = canon.graph;
  const input = cg.inputs.find((v) => isFloatType(v.dataType))?.name;
  const scores = findLogits(cg);

  // The gradient path: nodes fed (through anything but shape ops) by the input that feed the scores.
  // Subgraph nodes count through the values they read from enclosing scopes (value names are
  // unique model-wide after canonicalisation) and the subgraph outputs their owner returns.
  const isShapeOp = (n: Node): boolean => n.domain === '' && SHAPE_OPS.includes(n.opType);
  const fromInput = new Set<string>(input ? [input] : []);
  const propagate = (graph: Graph, subgraph: boolean): void => {
    for (const n of topologicalSort(graph, { outerScope: subgraph ? 'any' : undefined })) {
      if (isShapeOp(n) || !nodeReads(n).some((i) => fromInput.has(i))) continue;
      for (const o of n.outputs) if (o) fromInput.add(o);
    }
  };
  propagate(cg, false);
  const canonicalSubs = allSubgraphs(cg);
  for (const s of canonicalSubs) {
    // A Loop's carried values and a Scan's inputs enter its body as the body's inputs.
    const offset = s.owner.opType === 'Loop' ? 2 : s.owner.opType === 'Scan' ? 0 : -1;
    if (offset >= 0 && s.owner.domain === '') {
      s.graph.inputs.forEach((v, i) => {
        if (i >= offset && fromInput.has(s.owner.inputs[i] ?? '')) fromInput.add(v.name);
      });
    }
    propagate(s.graph, true);
  }
  const onPath = new Map<string, number>();
  const onPathBySubgraph = new Map<string, Map<string, number>>();
  const canonicalSupport = new Map<string, GradientSupport>();
  const mark = (graph: Graph, needed: ReadonlySet<string>, tally: Map<string, number> | undefined): Set<Node> => {
    const marked = new Set<Node>();
    for (const n of graph.nodes) {
      const op = qualified(n.opType, n.domain);
      canonicalSupport.set(op, classify(n.opType, n.domain, canon.opset, registry));
      if (!isShapeOp(n) && nodeReads(n).some((i) => fromInput.has(i)) && n.outputs.some((o) => needed.has(o))) {
        marked.add(n);
        onPath.set(op, (onPath.get(op) ?? 0) + 1);
        if (tally) tally.set(op, (tally.get(op) ?? 0) + 1);
      }
    }
    return marked;
  };
  const markedOwners = mark(cg, gradientAncestors(cg, [scores.logits]), undefined);
  for (const s of canonicalSubs) {
    const tally = new Map<string, number>();
    onPathBySubgraph.set(s.key, tally);
    // A subgraph is on the path through its owner; inside, what its outputs need.
    if (!markedOwners.has(s.owner)) {
      for (const n of s.graph.nodes) canonicalSupport.set(qualified(n.opType, n.domain), classify(n.opType, n.domain, canon.opset, registry));
      continue;
    }
    for (const n of mark(
      s.graph,
      gradientAncestors(
        s.graph,
        s.graph.outputs.map((o) => o.name),
      ),
      tally,
    ))
      markedOwners.add(n);
  }

  const counts = new Map<string, number>();
  const inSubgraphs = new Map<string, number>();
  const tallyOps = (graph: Graph, sub: boolean): Map<string, number> => {
    const local = new Map<string, number>();
    for (const n of graph.nodes) {
      const op = qualified(n.opType, n.domain);
      counts.set(op, (counts.get(op) ?? 0) + 1);
      local.set(op, (local.get(op) ?? 0) + 1);
      if (sub) inSubgraphs.set(op, (inSubgraphs.get(op) ?? 0) + 1);
    }
    return local;
  };
  tallyOps(g, false);
  let nodeCount = g.nodes.length;
  const canonicalKeys = new Set(canonicalSubs.map((s) => s.key));
  const subgraphs: SubgraphDescription[] = allSubgraphs(g).map((s) => {
    const local = tallyOps(s.graph, true);
    nodeCount += s.graph.nodes.length;
    const tally = onPathBySubgraph.get(s.key);
    const subOps = [...local]
      .map(([op, count]) => ({ op, count, onGradientPath: tally?.get(op) ?? 0 }))
      .sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
    const gradient = !canonicalKeys.has(s.key) ? 'folded' : subOps.some((o) => o.onGradientPath > 0) ? 'path' : 'off-path';
    return { path: s.key, node: s.owner.name, opType: s.owner.opType, attribute: s.attribute, nodes: s.graph.nodes.length, ops: subOps, gradient };
  });
  // Ops that canonicalisation renames (Upsample → Resize) or folds (Constant) keep their own entry.
  const ops: OpDescription[] = [...counts]
    .map(([op, count]) => {
      const [domain, opType] = op.includes('::') ? op.split('::') : ['', op];
      return {
        op,
        count,
        inSubgraphs: inSubgraphs.get(op) ?? 0,
        gradient: canonicalSupport.get(op) ?? classify(opType!, domain!, canon.opset, registry),
        onGradientPath: onPath.get(op) ?? 0,
      };
    })
    .sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
  // Canonical ops the file does not name (from upgrades) still matter for gradients.
  const canonicalOnly = [...canonicalSupport].filter(([op]) => !counts.has(op));
  const all = [...ops.map((o) => [o.op, o.gradient, o.onGradientPath] as const), ...canonicalOnly.map(([op, s]) => [op, s, onPath.get(op) ?? 0] as const)];
  // Ops the gradient engine never sees (folded Ifs, unrolled Loops, renamed ops) are not listed.
  const pick = (support: GradientSupport, path: boolean | undefined): string[] =>
    [...new Set(all.filter(([op, s, p]) => canonicalSupport.has(op) && s === support && (path === undefined || p > 0 === path)).map(([op]) => op))].sort();

  const trainable = new Set(trainableInitializers(model));
  let params = { tensors: 0, values: 0 };
  let constants = { tensors: 0, values: 0 };
  for (const t of g.initializers.values()) {
    const n = elementCount(t.dims);
    if (trainable.has(t.name)) params = { tensors: params.tensors + 1, values: params.values + n };
    else constants = { tensors: constants.tensors + 1, values: constants.values + n };
  }

  let activation: ModelDescription['output']['activation'] =
    scores.source === 'softmax-input' ? 'Softmax' : scores.source === 'sigmoid-input' ? 'Sigmoid' : null;
  if (activation === null) {
    const prod = producers(cg);
    let v = scores.output;
    for (let p = prod.get(v); p && p.opType === 'Identity'; p = prod.get(v)) v = p.inputs[0]!;
    if (prod.get(v)?.opType === 'LogSoftmax') activation = 'LogSoftmax';
  }
  // One score per example, as declared (attachClassScores reads (N, 1) and (N, 1, …, 1) as two classes).
  const declared = g.outputs.find((o) => o.name === scores.output)?.shape ?? cg.outputs.find((o) => o.name === scores.output)?.shape;
  const binary = !!declared && declared.length >= 2 && declared.slice(1).every((d) => d === 1);
  const kind: ModelDescription['output']['kind'] = binary
    ? 'one-score'
    : activation === 'LogSoftmax'
      ? 'log-probabilities'
      : activation === null
        ? 'logits'
        : 'probabilities';

  const proto = model.proto;
  const producer = [proto.producerName, proto.producerVersion].filter((s) => s).join(' ') || 'unknown';
  return {
    file: model.path,
    sha256: model.sha256,
    producer,
    irVersion: Number(proto.irVersion),
    opset: model.opset,
    otherDomains: proto.opsetImport.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx').map((o) => ({ domain: o.domain, version: Number(o.version) })),
    inputs: g.inputs.map(describeValue),
    outputs: g.outputs.map(describeValue),
    nodes: nodeCount,
    ops,
    subgraphs,
    gradient: {
      input,
      unsupportedOnPath: pick('unsupported', true),
      unsupportedElsewhere: pick('unsupported', false),
      nonDifferentiable: pick('non-differentiable', undefined),
      nonDifferentiableOnPath: pick('non-differentiable', true),
    },
    output: { kind, scores: scores.logits, activation, binary },
    parameters: params,
    constants,
  };
}
