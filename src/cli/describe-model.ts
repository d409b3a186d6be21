/**
 * What `gibbon info` reports about a model, as data: inputs and outputs, opsets, op counts, which
 * ops gibbon can differentiate (and which lie on the gradient path from the input to the class
 * scores), whether the model outputs probabilities, and its parameters. Pure: no onnxruntime.
 */
import { DEFAULT_VJP_REGISTRY, findLogits, trainableInitializers } from '../autodiff/gradient-graph.js';
import type { VjpRegistry } from '../autodiff/registry.js';
import { RECURRENT_OP_TYPES } from '../autodiff/unroll-recurrent.js';
import { NON_DIFFERENTIABLE_OPS, SHAPE_OPS } from '../autodiff/vjp-rule.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { dataTypeName, isFloatType } from '../onnx/dtypes.js';
import { ancestorsOf, producers, topologicalSort, type Dim, type ValueInfo } from '../onnx/graph.js';
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
  readonly count: number;
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
  readonly nodes: number;
  /** Op types of the file's graph, most frequent first. */
  readonly ops: readonly OpDescription[];
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
    /** 'probabilities': the output is a Softmax, and gradients start from the logits feeding it. */
    readonly kind: 'logits' | 'probabilities' | 'log-probabilities';
    /** The value gibbon uses as class scores. */
    readonly scores: string;
  };
  readonly parameters: { readonly tensors: number; readonly values: number };
  /** Initializers that are not trained (e.g. BatchNorm running statistics, integer shapes). */
  readonly constants: { readonly tensors: number; readonly values: number };
}

function describeValue(v: ValueInfo): ValueDescription {
  return { name: v.name, dtype: v.dataType ? dataTypeName(v.dataType) : 'unknown', shape: v.shape ? [...v.shape] : null };
}

const qualified = (opType: string, domain: string): string => (domain === '' || domain === 'ai.onnx' ? opType : `${domain}::${opType}`);

function classify(opType: string, domain: string, opset: number, registry: VjpRegistry): GradientSupport {
  const defaultDomain = domain === '' || domain === 'ai.onnx';
  if (defaultDomain && SHAPE_OPS.includes(opType)) return 'shape';
  if (defaultDomain && NON_DIFFERENTIABLE_OPS.includes(opType)) return 'non-differentiable';
  if (defaultDomain && RECURRENT_OP_TYPES.includes(opType)) return 'rule'; // unrolled before backprop
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
  const fromInput = new Set<string>(input ? [input] : []);
  for (const n of topologicalSort(cg)) {
    if ((n.domain === '' && SHAPE_OPS.includes(n.opType)) || !n.inputs.some((i) => fromInput.has(i))) continue;
    for (const o of n.outputs) if (o) fromInput.add(o);
  }
  const toScores = ancestorsOf(cg, [scores.logits]);
  const onPath = new Map<string, number>();
  const canonicalSupport = new Map<string, GradientSupport>();
  for (const n of cg.nodes) {
    const op = qualified(n.opType, n.domain);
    canonicalSupport.set(op, classify(n.opType, n.domain, canon.opset, registry));
    if (n.inputs.some((i) => fromInput.has(i)) && n.outputs.some((o) => toScores.has(o))) onPath.set(op, (onPath.get(op) ?? 0) + 1);
  }

  const counts = new Map<string, number>();
  for (const n of g.nodes) {
    const op = qualified(n.opType, n.domain);
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  // Ops that canonicalisation renames (Upsample → Resize) or folds (Constant) keep their own entry.
  const ops: OpDescription[] = [...counts]
    .map(([op, count]) => {
      const [domain, opType] = op.includes('::') ? op.split('::') : ['', op];
      return { op, count, gradient: canonicalSupport.get(op) ?? classify(opType!, domain!, canon.opset, registry), onGradientPath: onPath.get(op) ?? 0 };
    })
    .sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
  // Canonical ops the file does not name (from upgrades) still matter for gradients.
  const canonicalOnly = [...canonicalSupport].filter(([op]) => !counts.has(op));
  const all = [...ops.map((o) => [o.op, o.gradient, o.onGradientPath] as const), ...canonicalOnly.map(([op, s]) => [op, s, onPath.get(op) ?? 0] as const)];
  const pick = (support: GradientSupport, path: boolean | undefined): string[] =>
    [...new Set(all.filter(([, s, p]) => s === support && (path === undefined || p > 0 === path)).map(([op]) => op))].sort();

  const trainable = new Set(trainableInitializers(model));
  let params = { tensors: 0, values: 0 };
  let constants = { tensors: 0, values: 0 };
  for (const t of g.initializers.values()) {
    const n = elementCount(t.dims);
    if (trainable.has(t.name)) params = { tensors: params.tensors + 1, values: params.values + n };
    else constants = { tensors: constants.tensors + 1, values: constants.values + n };
  }

  let kind: ModelDescription['output']['kind'] = scores.source === 'softmax-input' ? 'probabilities' : 'logits';
  if (kind === 'logits') {
    const prod = producers(cg);
    let v = scores.output;
    for (let p = prod.get(v); p && p.opType === 'Identity'; p = prod.get(v)) v = p.inputs[0]!;
    if (prod.get(v)?.opType === 'LogSoftmax') kind = 'log-probabilities';
  }

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
    nodes: g.nodes.length,
    ops,
    gradient: {
      input,
      unsupportedOnPath: pick('unsupported', true),
      unsupportedElsewhere: pick('unsupported', false),
      nonDifferentiable: pick('non-differentiable', undefined),
      nonDifferentiableOnPath: pick('non-differentiable', true),
    },
    output: { kind, scores: scores.logits },
    parameters: params,
    constants,
  };
}
