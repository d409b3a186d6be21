/**
 * buildIntervalGraph: compiles a classifier into its *bound graph*, a new ONNX model that computes
 * interval bounds on the logits for a box of inputs (interval bound propagation, Gowal et al. 2018,
 * "On the effectiveness of interval bound propagation for training verifiably robust models",
 * arXiv:1810.12715). It runs in onnxruntime like any model: batched, many times, one session.
 *
 * Inputs: `x_lower`, `x_upper` (shaped like the classifier's input; the caller intersects the
 * ε-ball with the input domain) and `labels` (int64, N). Outputs: `logits_lower`, `logits_upper`
 * (N, C) and `margin_lower` (N, C), a lower bound of z_y − z_j for every class j (0 at j = y).
 * When the logits come from a final affine layer with constant weights (Gemm, or MatMul + Add),
 * that layer is folded into the margin ("elision", Gowal et al. §3): the bound of (W_y − W_j)·h is
 * taken in one step, which is tighter than subtracting bounds of z_y and z_j. With `paramInputs`
 * (IBP training) the chosen initializers become inputs and the folded layer is built in the graph
 * from them, so the bounds are differentiable functions of the weights.
 *
 * Values that do not depend on the input (weights, shapes) are computed exactly, as in the model;
 * the others get a lower and an upper value, emitted by one interval rule per op (rules/). A model
 * ending in Softmax is bounded up to its logits. An op without a rule fails, naming node and op.
 */
import { GibbonError } from '../../errors.js';
import { findLogits } from '../../onnx/logits.js';
import { probeValues } from '../../autodiff/probe.js';
import { Attributes } from '../../onnx/attributes.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { canonicalize } from '../../onnx/canonicalize.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import { ancestorsOf, consumers, producers, topologicalSort, type Graph, type Node } from '../../onnx/graph.js';
import type { ModelIR } from '../../onnx/model.js';
import { decodeTensor, toNumbers } from '../../onnx/tensor-proto.js';
import { centreRadius, interval, unsupportedInterval, type BoundValue, type Interval, type IntervalContext } from './interval-rule.js';
import { DEFAULT_INTERVAL_REGISTRY, type IntervalRegistry } from './registry.js';

export const X_LOWER_INPUT = 'x_lower';
export const X_UPPER_INPUT = 'x_upper';
export const IBP_LABELS_INPUT = 'labels';
export const LOGITS_LOWER_OUTPUT = 'logits_lower';
export const LOGITS_UPPER_OUTPUT = 'logits_upper';
export const MARGIN_LOWER_OUTPUT = 'margin_lower';
const RESERVED = [X_LOWER_INPUT, X_UPPER_INPUT, IBP_LABELS_INPUT, LOGITS_LOWER_OUTPUT, LOGITS_UPPER_OUTPUT, MARGIN_LOWER_OUTPUT];

export interface IntervalGraphOptions {
  /** Which graph output holds the class scores (default: the first). */
  output?: string;
  /** Fold a final affine layer into the margins (default true). */
  elide?: boolean;
  /** Sizes for symbolic non-batch input dimensions. */
  inputShapes?: Record<string, readonly (number | null)[]>;
  /** The interval rules per op type. Default: the built-in rules. */
  registry?: IntervalRegistry;
  /**
   * Initializers to turn into graph inputs of the bound graph (training: the weights are fed, and
   * gradients of the bounds with respect to them are taken). Elision then reads the final layer's
   * weights in the graph instead of folding them as constants.
   */
  paramInputs?: readonly string[];
}

export interface IntervalGraph {
  readonly model: ModelIR;
  /** The classifier's input, whose box x_lower/x_upper describe. */
  readonly input: string;
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  /** Whether the margins fold the final affine layer (else they are lower_y − upper_j). */
  readonly elided: boolean;
  /** The node whose output was bounded: the logits, or a final Softmax's input. */
  readonly logitsSource: ReturnType<typeof findLogits>['source'];
}

/** Ops whose output depends only on the shape of an input, which the lower end has too. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

export async function buildIntervalGraph(source: ModelIR, options: IntervalGraphOptions = {}): Promise<IntervalGraph> {
  const registry = options.registry ?? DEFAULT_INTERVAL_REGISTRY;
  const model = canonicalize(source);
  const g = model.graph;
  const where = source.path ?? 'model';
  if (g.inputs.length !== 1) {
    throw new GibbonError(
      'invalid_model',
      `${where} has ${g.inputs.length} inputs (${g.inputs.map((v) => v.name).join(', ')}); interval bounds need exactly one input`,
      { path: source.path },
    );
  }
  const input = g.inputs[0]!;
  if (input.dataType !== DT.FLOAT) {
    throw new GibbonError('invalid_model', `${where}: input '${input.name}' is not float32; interval bounds are computed in float32`, { path: source.path });
  }
  for (const name of RESERVED) {
    if (name !== input.name && (g.initializers.has(name) || g.nodes.some((n) => n.outputs.includes(name)))) {
      throw new GibbonError('invalid_model', `${where} has a value named '${name}', which gibbon reserves for the bound graph`, { path: source.path });
    }
  }
  const found = findLogits(g, options.output);
  const logits = found.logits;
  const keep = ancestorsOf(g, [logits]);
  g.nodes = g.nodes.filter((n) => n.outputs.some((o) => keep.has(o)));
  g.outputs = [{ name: logits, dataType: 0, shape: null }];

  const facts = await probeValues(model, { inputShapes: options.inputShapes });
  const logitsShape = facts.get(logits)?.shape;
  if (!logitsShape || logitsShape.length !== 2 || typeof logitsShape[1] !== 'number') {
    throw new GibbonError('invalid_model', `class scores '${logits}' should have shape (batch, classes); found [${logitsShape?.join(', ') ?? '?'}]`, {
      path: source.path,
    });
  }
  const numClasses = logitsShape[1];
  const inputShape = facts.get(input.name)!.shape;

  const order = topologicalSort(g);
  const used = new Set<string>([logits]);
  for (const [name, list] of consumers(g)) if (list.length > 0) used.add(name);

  // The bound graph reuses the exact values' names; the builder must know them to avoid clashes.
  const out: Graph = {
    name: `${g.name || 'model'}_interval_bounds`,
    nodes: g.nodes,
    inputs: [
      { name: X_LOWER_INPUT, dataType: DT.FLOAT, shape: input.shape ? [...input.shape] : null },
      { name: X_UPPER_INPUT, dataType: DT.FLOAT, shape: input.shape ? [...input.shape] : null },
      { name: IBP_LABELS_INPUT, dataType: DT.INT64, shape: [input.shape?.[0] ?? 'batch'] },
      { name: input.name, dataType: DT.FLOAT, shape: null },
    ],
    outputs: [],
    initializers: new Map(g.initializers),
    valueInfo: [],
  };
  const b = new GraphBuilder(out, 'ibp');
  out.nodes = [];
  out.inputs.pop();
  for (const name of options.paramInputs ?? []) {
    const t = out.initializers.get(name);
    if (!t) throw new GibbonError('invalid_option', `${where} has no initializer '${name}' to feed as an input of the bound graph`, { option: 'paramInputs' });
    out.initializers.delete(name);
    out.inputs.push({ name, dataType: t.dataType, shape: t.dims.map(Number) });
  }
  const fed = new Set(options.paramInputs ?? []);

  const bounds = new Map<string, BoundValue>([[input.name, interval(X_LOWER_INPUT, X_UPPER_INPUT)]]);
  const boundOf = (name: string): BoundValue => bounds.get(name) ?? { kind: 'exact', name };
  for (const node of order) {
    const inputs = node.inputs.map(boundOf);
    if (inputs.every((v) => v.kind === 'exact')) {
      out.nodes.push({ ...node, inputs: [...node.inputs], outputs: [...node.outputs], attributes: [...node.attributes] });
      continue;
    }
    if (SHAPE_ONLY.has(node.opType) && node.domain === '') {
      out.nodes.push({
        ...node,
        inputs: inputs.map((v) => (v.kind === 'exact' ? v.name : v.lower)),
        outputs: [...node.outputs],
        attributes: [...node.attributes],
      });
      continue;
    }
    const rule = registry.lookup(node.opType, node.domain);
    if (!rule) {
      const qualified = node.domain ? `${node.domain}::${node.opType}` : node.opType;
      throw new GibbonError(
        'unsupported_op',
        `no interval bound rule for op '${qualified}' at node '${node.name}'; supported ops: ${registry.supportedOps.join(', ')}`,
        { node: { name: node.name, opType: node.opType }, path: source.path },
      );
    }
    const ctx = contextFor(node, inputs, b, out, used);
    const results = rule.bounds(ctx);
    node.outputs.forEach((o, i) => {
      const r = results[i];
      if (o && r) bounds.set(o, r);
      else if (o && used.has(o)) throw new GibbonError('internal', `interval rule for ${node.opType} gave no bound for output ${i} of node '${node.name}'`);
    });
  }

  const logitsBound = boundOf(logits);
  const z: Interval = logitsBound.kind === 'interval' ? logitsBound : interval(logitsBound.name, logitsBound.name);
  b.node('Identity', [z.lower], {}, { outputNames: [LOGITS_LOWER_OUTPUT] });
  b.node('Identity', [z.upper], {}, { outputNames: [LOGITS_UPPER_OUTPUT] });
  const elision = options.elide === false ? undefined : fed.size > 0 ? fedFinalAffineLayer(g, logits, numClasses) : finalAffineLayer(g, logits, numClasses);
  const hidden = elision ? boundOf(elision.hidden) : undefined;
  let margin: string;
  if (elision && hidden?.kind === 'interval') margin = elidedMargin(b, hidden, 'weight' in elision ? constantLayer(b, elision) : elision.emit(b));
  else margin = plainMargin(b, z, numClasses);
  b.node('Identity', [margin], {}, { outputNames: [MARGIN_LOWER_OUTPUT] });
  const batch = inputShape[0] ?? 'batch';
  out.outputs = [LOGITS_LOWER_OUTPUT, LOGITS_UPPER_OUTPUT, MARGIN_LOWER_OUTPUT].map((name) => ({ name, dataType: DT.FLOAT, shape: [batch, numClasses] }));

  return {
    model: { ...model, graph: out },
    input: input.name,
    inputShape,
    numClasses,
    elided: elision !== undefined && hidden?.kind === 'interval',
    logitsSource: found.source,
  };
}

function contextFor(node: Node, inputs: readonly BoundValue[], b: GraphBuilder, out: Graph, used: ReadonlySet<string>): IntervalContext {
  const ctx: IntervalContext = {
    node,
    attrs: new Attributes(node),
    b,
    input: (i) => inputs[i] ?? { kind: 'exact', name: '' },
    exact: (i, why) => {
      const v = ctx.input(i);
      if (v.kind === 'interval') ctx.unsupported(`its ${why} (input ${i}, '${node.inputs[i]}') depend(s) on the model input`);
      return v.name;
    },
    used: (i) => Boolean(node.outputs[i]) && used.has(node.outputs[i]!),
    constant: (value) => {
      const t = out.initializers.get(value);
      return t ? toNumbers(decodeTensor(t)) : undefined;
    },
    unsupported: (what) => unsupportedInterval(node, what),
  };
  return ctx;
}

/** The final layer z = W·h + b, as constants: W (C, K) and b (C), scaled by Gemm's α and β. */
interface FinalAffine {
  readonly hidden: string;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly hiddenSize: number;
}

/** Recognises Gemm(h, W, b) and Add(MatMul(h, W), b) with constant W, b; undefined otherwise. */
function finalAffineLayer(g: Graph, logits: string, numClasses: number): FinalAffine | undefined {
  const prod = producers(g);
  const floatConstant = (name: string | undefined): { data: Float32Array; dims: readonly number[] } | undefined => {
    const t = name ? g.initializers.get(name) : undefined;
    if (!t || t.dataType !== DT.FLOAT) return undefined;
    const d = decodeTensor(t);
    return { data: d.data as Float32Array, dims: d.dims };
  };
  const biasRow = (c: { data: Float32Array; dims: readonly number[] } | undefined, scale: number): Float32Array | undefined => {
    if (!c) return new Float32Array(numClasses);
    const n = c.data.length;
    if (n === 1) return new Float32Array(numClasses).fill(c.data[0]! * scale);
    if (n === numClasses && c.dims[c.dims.length - 1] === numClasses) return Float32Array.from(c.data, (v) => v * scale);
    return undefined;
  };
  // W as (C, K) rows from a (K, C) matrix (transposed = false) or a (C, K) one.
  const rows = (w: { data: Float32Array; dims: readonly number[] }, transposed: boolean, scale: number): { weight: Float32Array; k: number } | undefined => {
    if (w.dims.length !== 2) return undefined;
    const [r, c] = w.dims as [number, number];
    if ((transposed ? r : c) !== numClasses) return undefined;
    const k = transposed ? c : r;
    const weight = new Float32Array(numClasses * k);
    for (let j = 0; j < numClasses; j++)
      for (let i = 0; i < k; i++) weight[j * k + i] = scale * (transposed ? w.data[j * k + i]! : w.data[i * numClasses + j]!);
    return { weight, k };
  };
  const last = prod.get(logits);
  if (!last || last.domain !== '') return undefined;
  if (last.opType === 'Gemm') {
    const a = new Attributes(last);
    if (a.int('transA', 0) !== 0) return undefined;
    const w = floatConstant(last.inputs[1]);
    const c = last.inputs[2] ? floatConstant(last.inputs[2]) : undefined;
    if (!w || (last.inputs[2] && !c)) return undefined;
    const r = rows(w, a.int('transB', 0) === 1, a.float('alpha', 1));
    const bias = biasRow(c, a.float('beta', 1));
    if (!r || !bias) return undefined;
    return { hidden: last.inputs[0]!, weight: r.weight, bias, hiddenSize: r.k };
  }
  if (last.opType === 'Add') {
    for (const { mm, other } of matMulPlus(prod, last)) {
      const c = floatConstant(other);
      if (!c) continue;
      const w = floatConstant(mm.inputs[1]);
      const r = w ? rows(w, false, 1) : undefined;
      const bias = biasRow(c, 1);
      if (r && bias) return { hidden: mm.inputs[0]!, weight: r.weight, bias, hiddenSize: r.k };
    }
  }
  return undefined;
}

/** Add(MatMul(h, W), other) in either operand order: each MatMul operand with the other operand. */
function matMulPlus(prod: ReadonlyMap<string, Node>, add: Node): { mm: Node; other: string }[] {
  return [0, 1].flatMap((m) => {
    const mm = prod.get(add.inputs[m]!);
    return mm && mm.opType === 'MatMul' && mm.domain === '' ? [{ mm, other: add.inputs[1 - m]! }] : [];
  });
}

/** The final layer with weights read in the graph (fed parameters): emit gives W (C, K) and b (C). */
interface FedAffine {
  readonly hidden: string;
  readonly emit: (b: GraphBuilder) => { w: string; bias: string };
}

/**
 * Gemm(h, W, b) and Add(MatMul(h, W), b) whose W and b are initializers of the source (fed as
 * inputs or still constant); W (C, K) is built in the graph so gradients reach fed weights.
 */
function fedFinalAffineLayer(g: Graph, logits: string, numClasses: number): FedAffine | undefined {
  const prod = producers(g);
  const dims = (name: string | undefined): number[] | undefined => {
    const t = name ? g.initializers.get(name) : undefined;
    return t && t.dataType === DT.FLOAT ? t.dims.map(Number) : undefined;
  };
  // The bias as a (C) vector scaled by β; a missing bias is zero.
  const biasOf = (b: GraphBuilder, name: string | undefined, beta: number): string => {
    if (!name) return b.constant(DT.FLOAT, [numClasses], new Float32Array(numClasses), 'elided_bias');
    const flat = b.op('Reshape', [name, b.int64s([-1])], {}, { name: 'elision/bias_flat' });
    const full = b.op('Expand', [flat, b.int64s([numClasses])], {}, { name: 'elision/bias' });
    return beta === 1 ? full : b.op('Mul', [full, b.scalar(beta)], {}, { name: 'elision/bias_scaled' });
  };
  const biasOk = (name: string | undefined): boolean => {
    if (!name) return true;
    const d = dims(name);
    if (!d) return false;
    const n = d.reduce((a, c) => a * c, 1);
    return n === 1 || (n === numClasses && d[d.length - 1] === numClasses);
  };
  const last = prod.get(logits);
  if (!last || last.domain !== '') return undefined;
  if (last.opType === 'Gemm') {
    const a = new Attributes(last);
    if (a.int('transA', 0) !== 0) return undefined;
    const transposed = a.int('transB', 0) === 1;
    const wName = last.inputs[1]!;
    const d = dims(wName);
    const biasName = last.inputs[2] || undefined;
    if (!d || d.length !== 2 || (transposed ? d[0] : d[1]) !== numClasses || !biasOk(biasName)) return undefined;
    const alpha = a.float('alpha', 1);
    const beta = a.float('beta', 1);
    return {
      hidden: last.inputs[0]!,
      emit: (b) => {
        let w = transposed ? wName : b.op('Transpose', [wName], { perm: [1, 0] }, { name: 'elision/weight_t' });
        if (alpha !== 1) w = b.op('Mul', [w, b.scalar(alpha)], {}, { name: 'elision/weight_scaled' });
        return { w, bias: biasOf(b, biasName, beta) };
      },
    };
  }
  if (last.opType === 'Add') {
    for (const { mm, other: biasName } of matMulPlus(prod, last)) {
      if (!biasOk(biasName)) continue;
      const wName = mm.inputs[1]!;
      const d = dims(wName);
      if (!d || d.length !== 2 || d[1] !== numClasses) continue;
      return {
        hidden: mm.inputs[0]!,
        emit: (b) => ({ w: b.op('Transpose', [wName], { perm: [1, 0] }, { name: 'elision/weight_t' }), bias: biasOf(b, biasName, 1) }),
      };
    }
  }
  return undefined;
}

function constantLayer(b: GraphBuilder, layer: FinalAffine): { w: string; bias: string } {
  const c = layer.bias.length;
  return { w: b.constant(DT.FLOAT, [c, layer.hiddenSize], layer.weight, 'elided_weight'), bias: b.constant(DT.FLOAT, [c], layer.bias, 'elided_bias') };
}

/** margin_j ≥ (W_y − W_j)·mid − |W_y − W_j|·rad + b_y − b_j, for h in [mid − rad, mid + rad]. */
function elidedMargin(b: GraphBuilder, hidden: Interval, layer: { w: string; bias: string }): string {
  const { w, bias } = layer;
  const { mid, rad } = centreRadius(b, hidden, 'elision');
  const wy = b.op('Gather', [w, IBP_LABELS_INPUT], { axis: 0 }, { name: 'elision/weight_y' });
  const diff = b.op('Sub', [b.op('Unsqueeze', [wy, b.int64s([1])]), w], {}, { name: 'elision/weight_diff' });
  const axis2 = b.int64s([2]);
  const centre = b.op('ReduceSum', [b.op('Mul', [diff, b.op('Unsqueeze', [mid, b.int64s([1])])]), axis2], { keepdims: 0 }, { name: 'elision/centre' });
  const spread = b.op(
    'ReduceSum',
    [b.op('Mul', [b.op('Abs', [diff]), b.op('Unsqueeze', [rad, b.int64s([1])])]), axis2],
    { keepdims: 0 },
    { name: 'elision/spread' },
  );
  const by = b.op('Gather', [bias, IBP_LABELS_INPUT], { axis: 0 }, { name: 'elision/bias_y' });
  const biasDiff = b.op('Sub', [b.op('Unsqueeze', [by, b.int64s([1])]), bias], {}, { name: 'elision/bias_diff' });
  return b.op('Sub', [b.op('Add', [centre, biasDiff]), spread], {}, { name: 'elision/margin' });
}

/** margin_j ≥ lower_y − upper_j, and exactly 0 at j = y. */
function plainMargin(b: GraphBuilder, z: Interval, numClasses: number): string {
  const labels = b.op('Unsqueeze', [IBP_LABELS_INPUT, b.int64s([1])], {}, { name: 'margin/labels' });
  const lowerY = b.op('GatherElements', [z.lower, labels], { axis: 1 }, { name: 'margin/lower_y' });
  const raw = b.op('Sub', [lowerY, z.upper], {}, { name: 'margin/raw' });
  const isLabel = b.op(
    'Equal',
    [
      labels,
      b.int64s(
        Array.from({ length: numClasses }, (_, j) => j),
        [1, numClasses],
      ),
    ],
    {},
    { name: 'margin/is_label' },
  );
  return b.op('Where', [isLabel, b.scalar(0), raw], {}, { name: 'margin/lower' });
}
