/**
 * Brings a model to one canonical form so that gradient rules see a single version of each op:
 * - Constant nodes become initializers;
 * - the default-domain opset is raised to at least CANONICAL_OPSET (18), rewriting the ops whose
 *   attributes became inputs on the way (Clip, Slice, Squeeze/Unsqueeze, Split, Pad, Reduce*,
 *   TopK, Dropout), the pre-13 Softmax family (2-D coercion), and Upsample (to Resize).
 * - subgraphs (If branches, Loop/Scan bodies) get the same treatment at any depth: their constants
 *   and initializers move to the main graph (which they read from their enclosing scope), and every
 *   value they define gets a name unique in the whole model (a branch's values can then be named,
 *   probed and differentiated without ambiguity);
 * - an If whose condition is a constant is replaced by the branch it takes;
 * - a Loop with a constant trip count, no early exit and no nested subgraphs is unrolled (up to
 *   MAX_UNROLLED_NODES nodes), so that it can be differentiated like straight-line code.
 * The forward computation is unchanged; the result is a new model (the input is not mutated).
 */
import { clone } from '@bufbuild/protobuf';
import { AttributeProtoSchema, TensorProto_DataType as DT, type AttributeProto, type TensorProto } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { Attributes, makeAttribute } from './attributes.js';
import { GraphBuilder } from './builder.js';
import { graphFromProto, graphToProto, MAX_SUBGRAPH_DEPTH, subgraphAttributes, type Graph, type Node } from './graph.js';
import { cloneModel, type ModelIR } from './model.js';
import { decodeTensor, encodeTensor } from './tensor-proto.js';

export const CANONICAL_OPSET = 18;

const REDUCE_AXES_INPUT_SINCE: Record<string, number> = {
  ReduceSum: 13,
  ReduceMean: 18,
  ReduceMax: 18,
  ReduceMin: 18,
  ReduceProd: 18,
  ReduceL1: 18,
  ReduceL2: 18,
  ReduceLogSum: 18,
  ReduceLogSumExp: 18,
  ReduceSumSquare: 18,
};

/** Most nodes a Loop may unroll into (trip count × body nodes); larger Loops are left as they are. */
export const MAX_UNROLLED_NODES = 100_000;

export function canonicalize(model: ModelIR): ModelIR {
  const out = cloneModel(model);
  const root = out.graph;
  const used = new Set<string>();
  for (const v of root.inputs) used.add(v.name);
  for (const k of root.initializers.keys()) used.add(k);
  for (const n of root.nodes) for (const o of n.outputs) used.add(o);
  const pass: Pass = { root, opset: out.opset, used, builder: new GraphBuilder(root, 'canon', used) };
  canonicalizeGraph(pass, root, new Map(), 0);
  if (out.opset < CANONICAL_OPSET) out.opset = CANONICAL_OPSET;
  return out;
}

interface Pass {
  readonly root: Graph;
  /** The opset as read (subgraphs are upgraded from it too). */
  readonly opset: number;
  /** Every value name defined anywhere in the model so far. */
  readonly used: Set<string>;
  /** Emits constants into the main graph. */
  readonly builder: GraphBuilder;
}

/** Canonicalises one graph (the main one at depth 0) and, depth first, its subgraphs. */
function canonicalizeGraph(pass: Pass, g: Graph, renames: ReadonlyMap<string, string>, depth: number): void {
  if (depth > MAX_SUBGRAPH_DEPTH) {
    throw new GibbonError('invalid_model', `subgraphs are nested more than ${MAX_SUBGRAPH_DEPTH} deep (at graph '${g.name}'); gibbon refuses such models`);
  }
  const own = new Map(renames);
  if (depth > 0) {
    // A subgraph's own values get model-wide unique names; its reads of renamed outer values follow them.
    const defined = [...g.inputs.map((v) => v.name), ...g.initializers.keys(), ...g.nodes.flatMap((n) => n.outputs)].filter((v) => v);
    for (const v of defined) {
      if (pass.used.has(v) || own.has(v)) own.set(v, pass.builder.fresh(`${g.name || 'subgraph'}/${v}`));
      else {
        own.delete(v);
        pass.used.add(v);
      }
    }
    renameAll(g, own);
    // Constants live in the main graph; the subgraph reads them from its enclosing scope.
    for (const [k, t] of g.initializers) pass.root.initializers.set(k, { ...t, name: k });
    g.initializers = new Map();
  }
  foldConstantNodes(g, pass.root);
  const b = depth === 0 ? pass.builder : pass.builder.child(g, 'canon');
  if (pass.opset < CANONICAL_OPSET) upgradeNodes(g, pass.opset, b);
  for (const n of g.nodes) {
    const subs = subgraphAttributes(n);
    if (subs.length === 0) continue;
    n.attributes = n.attributes.map((a) => canonicalizeAttribute(pass, a, own, depth));
  }
  foldControlFlow(pass, g);
}

function canonicalizeAttribute(pass: Pass, a: AttributeProto, renames: ReadonlyMap<string, string>, depth: number): AttributeProto {
  if (!a.g && a.graphs.length === 0) return a;
  const out = clone(AttributeProtoSchema, a);
  const one = (proto: NonNullable<AttributeProto['g']>) => {
    const sub = graphFromProto(proto);
    canonicalizeGraph(pass, sub, renames, depth + 1);
    return graphToProto(sub);
  };
  if (a.g) out.g = one(a.g);
  out.graphs = a.graphs.map(one);
  return out;
}

/** Renames values everywhere in a graph's own nodes, inputs, outputs and initializers. */
function renameAll(g: Graph, map: ReadonlyMap<string, string>): void {
  if (map.size === 0) return;
  const r = (v: string): string => map.get(v) ?? v;
  for (const n of g.nodes) {
    n.inputs = n.inputs.map(r);
    n.outputs = n.outputs.map(r);
  }
  g.inputs = g.inputs.map((v) => ({ ...v, name: r(v.name) }));
  g.outputs = g.outputs.map((v) => ({ ...v, name: r(v.name) }));
  g.valueInfo = g.valueInfo.map((v) => ({ ...v, name: r(v.name) }));
  g.initializers = new Map([...g.initializers].map(([k, t]) => [r(k), { ...t, name: r(k) }]));
}

/** Replaces Ifs whose condition is a constant by their branch, and unrolls Loops with a constant trip count. */
function foldControlFlow(pass: Pass, g: Graph): void {
  if (!g.nodes.some((n) => n.domain === '' && (n.opType === 'If' || n.opType === 'Loop'))) return;
  const out: Node[] = [];
  for (const n of g.nodes) {
    if (n.domain === '' && n.opType === 'If') {
      const cond = constantScalar(pass.root, n.inputs[0] ?? '');
      if (cond !== undefined) {
        const branch = new Attributes(n).raw(cond !== 0 ? 'then_branch' : 'else_branch')?.g;
        if (branch) {
          inlineBranch(graphFromProto(branch), n, out);
          continue;
        }
      }
    }
    if (n.domain === '' && n.opType === 'Loop' && unrollLoop(pass, n, out)) continue;
    out.push(n);
  }
  g.nodes = out;
}

function constantScalar(root: Graph, v: string): number | undefined {
  const t = v ? root.initializers.get(v) : undefined;
  if (!t || t.dims.length > 1 || (t.dims.length === 1 && Number(t.dims[0]) !== 1)) return undefined;
  const data = decodeTensor(t).data;
  return data.length === 1 ? Number(data[0]) : undefined;
}

/** Appends a (canonical) branch's nodes to `out`, and Identities from its outputs to the If's. */
function inlineBranch(branch: Graph, ifNode: Node, out: Node[]): void {
  out.push(...branch.nodes);
  branch.outputs.forEach((o, i) => {
    const target = ifNode.outputs[i];
    if (target) out.push({ name: `${ifNode.name}/${target}`, opType: 'Identity', domain: '', inputs: [o.name], outputs: [target], attributes: [] });
  });
}

/**
 * Unrolls Loop(M, cond, v…) when M is a constant, the loop cannot stop early (its condition is
 * absent or constant true, and the body passes it on unchanged or as a constant true) and the body
 * holds no subgraphs. Returns false (the Loop stays) otherwise.
 */
function unrollLoop(pass: Pass, n: Node, out: Node[]): boolean {
  const bodyProto = new Attributes(n).raw('body')?.g;
  if (!bodyProto) return false;
  const body = graphFromProto(bodyProto);
  const trips = constantScalar(pass.root, n.inputs[0] ?? '');
  const condIn = n.inputs[1] ?? '';
  if (trips === undefined || trips < 1 || !Number.isInteger(trips)) return false;
  if (condIn !== '' && constantScalar(pass.root, condIn) !== 1) return false;
  if (trips * Math.max(1, body.nodes.length) > MAX_UNROLLED_NODES) return false;
  if (body.nodes.some((x) => subgraphAttributes(x).length > 0)) return false;
  const carried = n.inputs.slice(2);
  if (body.inputs.length !== carried.length + 2 || body.outputs.length < carried.length + 1) return false;
  // The body's condition output must be its condition input passed on, or a constant true.
  const prod = new Map<string, Node>();
  for (const x of body.nodes) for (const o of x.outputs) prod.set(o, x);
  let c = body.outputs[0]!.name;
  for (let p = prod.get(c); p && p.opType === 'Identity'; p = prod.get(c)) c = p.inputs[0]!;
  if (c !== body.inputs[1]!.name && constantScalar(pass.root, c) !== 1) return false;

  const scanCount = body.outputs.length - 1 - carried.length;
  const scans: string[][] = Array.from({ length: scanCount }, () => []);
  let state = carried;
  const b = pass.builder;
  for (let k = 0; k < trips; k++) {
    const map = new Map<string, string>();
    map.set(body.inputs[0]!.name, b.int64Scalar(k));
    map.set(body.inputs[1]!.name, b.constant(DT.BOOL, [], Uint8Array.of(1), 'true'));
    body.inputs.slice(2).forEach((v, i) => map.set(v.name, state[i]!));
    for (const x of body.nodes) for (const o of x.outputs) if (o) map.set(o, b.fresh(`${n.name}/${k}/${o}`));
    const r = (v: string): string => map.get(v) ?? v;
    for (const x of body.nodes) {
      out.push({ ...x, name: b.fresh(`${n.name}/${k}/${x.name}`), inputs: x.inputs.map(r), outputs: x.outputs.map(r) });
    }
    state = body.outputs.slice(1, 1 + carried.length).map((o) => r(o.name));
    body.outputs.slice(1 + carried.length).forEach((o, i) => {
      const u = b.fresh(`${n.name}/${k}/scan${i}`);
      out.push({ name: b.fresh(`${n.name}/unsqueeze`), opType: 'Unsqueeze', domain: '', inputs: [r(o.name), b.int64s([0])], outputs: [u], attributes: [] });
      scans[i]!.push(u);
    });
  }
  const identity = (from: string, to: string): Node => ({
    name: b.fresh(`${n.name}/out`),
    opType: 'Identity',
    domain: '',
    inputs: [from],
    outputs: [to],
    attributes: [],
  });
  n.outputs.forEach((o, i) => {
    if (!o) return;
    if (i < carried.length) out.push(identity(state[i]!, o));
    else
      out.push({
        name: b.fresh(`${n.name}/concat`),
        opType: 'Concat',
        domain: '',
        inputs: scans[i - carried.length]!,
        outputs: [o],
        attributes: [makeAttribute('axis', 0)],
      });
  });
  return true;
}

function constantValue(n: Node): TensorProto {
  const a = new Attributes(n);
  const name = n.outputs[0]!;
  const t = a.tensor('value');
  if (t) return { ...t, name };
  if (a.has('value_float')) return encodeTensor(name, DT.FLOAT, [], Float32Array.of(a.float('value_float')));
  if (a.has('value_floats')) {
    const v = a.floats('value_floats');
    return encodeTensor(name, DT.FLOAT, [v.length], Float32Array.from(v));
  }
  if (a.has('value_int')) return encodeTensor(name, DT.INT64, [], BigInt64Array.of(BigInt(a.int('value_int'))));
  if (a.has('value_ints')) {
    const v = a.ints('value_ints');
    return encodeTensor(name, DT.INT64, [v.length], BigInt64Array.from(v, BigInt));
  }
  throw new GibbonError('invalid_model', `Constant node '${n.name}' has no supported value attribute (sparse or string constants are not supported)`, {
    node: { name: n.name, opType: n.opType },
  });
}

/** Turns default-domain Constant nodes into initializers (of `into`, by default the graph itself). */
export function foldConstantNodes(g: Graph, into: Graph = g): void {
  const kept: Node[] = [];
  for (const n of g.nodes) {
    if (n.opType === 'Constant' && n.domain === '') into.initializers.set(n.outputs[0]!, constantValue(n));
    else kept.push(n);
  }
  g.nodes = kept;
}

function upgradeNodes(g: Graph, opset: number, b: GraphBuilder): void {
  const old = g.nodes;
  g.nodes = [];
  for (const n of old) {
    if (n.domain !== '') {
      g.nodes.push(n);
      continue;
    }
    const rewritten = upgradeNode(n, opset, b);
    if (rewritten) g.nodes.push(rewritten);
  }
}

function without(n: Node, names: readonly string[]): Node['attributes'] {
  return n.attributes.filter((a) => !names.includes(a.name));
}

/** Returns the node to keep (possibly changed), or null if it was replaced by emitted nodes. */
function upgradeNode(n: Node, opset: number, b: GraphBuilder): Node | null {
  const a = new Attributes(n);
  const input = (i: number): string => n.inputs[i] ?? '';
  switch (n.opType) {
    case 'Clip':
      if (opset < 11) {
        // CastLike keeps the bounds in the input's float type (float16/float64 models).
        const min = b.op('CastLike', [b.scalar(a.float('min', -3.4028234663852886e38)), input(0)]);
        const max = b.op('CastLike', [b.scalar(a.float('max', 3.4028234663852886e38)), input(0)]);
        return { ...n, inputs: [input(0), min, max], attributes: without(n, ['min', 'max']) };
      }
      return n;
    case 'Slice':
      if (opset < 10) {
        const inputs = [input(0), b.int64s(a.ints('starts')), b.int64s(a.ints('ends'))];
        if (a.has('axes')) inputs.push(b.int64s(a.ints('axes')));
        return { ...n, inputs, attributes: without(n, ['starts', 'ends', 'axes']) };
      }
      return n;
    case 'Squeeze':
    case 'Unsqueeze':
      if (opset < 13 && a.has('axes')) return { ...n, inputs: [input(0), b.int64s(a.ints('axes'))], attributes: without(n, ['axes']) };
      return n;
    case 'Split': {
      let inputs = n.inputs;
      let attributes = n.attributes;
      if (opset < 13 && a.has('split')) {
        inputs = [input(0), b.int64s(a.ints('split'))];
        attributes = without(n, ['split']);
      }
      if (!inputs[1]) attributes = [...attributes.filter((x) => x.name !== 'num_outputs'), makeAttribute('num_outputs', n.outputs.length)];
      return { ...n, inputs, attributes };
    }
    case 'Pad':
      if (opset < 11) {
        const pads = a.ints('pads');
        const value = b.op('CastLike', [b.scalar(a.float('value', 0)), input(0)]);
        return { ...n, inputs: [input(0), b.int64s(pads), value], attributes: without(n, ['pads', 'value']) };
      }
      return n;
    case 'TopK':
      if (opset < 10) return { ...n, inputs: [input(0), b.int64s([a.int('k')])], attributes: without(n, ['k']) };
      return n;
    case 'Dropout':
      if (opset < 12) {
        // Inference semantics are the identity; keep the ratio as an input for training.
        const ratio = b.scalar(a.float('ratio', 0.5));
        return { ...n, inputs: [input(0), ratio], attributes: without(n, ['ratio', 'is_test']), outputs: n.outputs };
      }
      return n;
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax':
      if (opset < 13) {
        // Before opset 13 these coerced the input to 2-D at `axis` (default 1).
        const axis = a.int('axis', 1);
        const flat = b.op('Flatten', [input(0)], { axis }, { name: `${n.name}/flatten` });
        const sm = b.op(n.opType, [flat], { axis: 1 }, { name: n.name });
        const shape = b.op('Shape', [input(0)], {}, { name: `${n.name}/shape` });
        b.node('Reshape', [sm, shape], {}, { outputNames: [n.outputs[0]!], name: `${n.name}/reshape` });
        return null;
      }
      return n;
    case 'Upsample': {
      // Opset 9 Upsample(X, scales) == Resize with asymmetric coordinates and floor rounding.
      const mode = a.string('mode', 'nearest');
      const attrs = {
        mode,
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      };
      b.node('Resize', [input(0), '', input(1)], attrs, { outputNames: [n.outputs[0]!], name: n.name });
      return null;
    }
    case 'Resize':
      if (opset < 11) {
        const mode = a.string('mode', 'nearest');
        b.node(
          'Resize',
          [input(0), '', input(1)],
          { mode, coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
          { outputNames: [n.outputs[0]!], name: n.name },
        );
        return null;
      }
      return n;
    default: {
      const since = REDUCE_AXES_INPUT_SINCE[n.opType];
      if (since !== undefined && opset < since && a.has('axes')) {
        return { ...n, inputs: [input(0), b.int64s(a.ints('axes'))], attributes: without(n, ['axes']) };
      }
      return n;
    }
  }
}
