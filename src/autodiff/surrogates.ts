/**
 * BPDA with a user-supplied surrogate: on the backward pass only, a non-differentiable node
 * (Round, Sign, a quantiser …) is differentiated as if it were a smooth function g given as a
 * small ONNX model with one input and one output, e.g. g(x) = x − sin(2πkx)/(2πk) for Round(k·x)/k.
 * The forward pass stays exact: the gradient graph still computes the node itself, and computes
 * g at the node's input only to differentiate it (dX = J_g(x)ᵀ·dY).
 *
 * Paper: Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of Security",
 * ICML 2018, https://arxiv.org/abs/1802.00420 (Section 4.1, BPDA: "replace the non-differentiable
 * layer by a differentiable approximation on the backward pass"). The identity (straight-through)
 * is the special case g(x) = x and stays available as the policy 'identity'.
 *
 * A surrogate replaces a node by name, every node of an op type, or (with neither given) every
 * non-differentiable node; the most specific match wins. It must keep the shape: its output has
 * the shape of the node's output for an input shaped like the node's first input. Nodes without a
 * surrogate follow `otherwise` ('zero', the true gradient, or 'identity').
 *
 * @example
 * ```ts
 * const round = loadModel('smooth-round.onnx');
 * const model = await OnnxModel.load('defended.onnx', { nonDifferentiable: { surrogates: [{ opType: 'Round', model: round }] } });
 * ```
 */
import { GibbonError } from '../errors.js';
import type { GraphBuilder } from '../onnx/builder.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { isFloatType } from '../onnx/dtypes.js';
import type { Graph, Node } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { probeValues, type ValueFacts } from './probe.js';
import { NON_DIFFERENTIABLE_OPS } from './vjp-rule.js';

export interface BpdaSurrogate {
  /** The name of the node it replaces … */
  readonly node?: string;
  /** … or the op type of the nodes it replaces (neither: every non-differentiable node). */
  readonly opType?: string;
  /** A differentiable g with one input and one output, g ≈ the node's function. */
  readonly model: ModelIR;
  /** How to name it in messages (e.g. its file path). */
  readonly label?: string;
}

export interface SurrogatePolicy {
  readonly surrogates: readonly BpdaSurrogate[];
  /** Non-differentiable nodes without a surrogate: 'zero' (default, the true gradient) or 'identity'. */
  readonly otherwise?: 'zero' | 'identity';
}

/** What to do at ops whose gradient is zero almost everywhere (Round, Sign, …). */
export type NonDifferentiablePolicy = 'zero' | 'identity' | SurrogatePolicy;

/** A surrogate ready to be inlined at one node: its graph and the facts of its values at that node's input shape. */
export interface PreparedSurrogate {
  readonly label: string;
  readonly graph: Graph;
  readonly facts: ReadonlyMap<string, ValueFacts>;
}

/** The policy as backprop consumes it: surrogates resolved per node name. */
export interface PreparedSurrogates {
  readonly byNode: ReadonlyMap<string, PreparedSurrogate>;
  readonly otherwise: 'zero' | 'identity';
}

export type PreparedPolicy = 'zero' | 'identity' | PreparedSurrogates;

/** A quantiser: a listed op, or a Cast from a float to a non-float type. */
export function isNonDifferentiableNode(n: Node, isFloat: (value: string) => boolean): boolean {
  return n.domain === '' && (NON_DIFFERENTIABLE_OPS.includes(n.opType) || (n.opType === 'Cast' && isFloat(n.inputs[0]!) && !isFloat(n.outputs[0]!)));
}

function describe(s: BpdaSurrogate): string {
  if (s.label !== undefined) return s.label;
  if (s.node !== undefined) return `the surrogate for node '${s.node}'`;
  return s.opType !== undefined ? `the surrogate for op ${s.opType}` : 'the surrogate for every non-differentiable op';
}

/** Checks the surrogate's form and returns it canonicalised (opset ≥ 18, Constant nodes folded). */
function checkSurrogate(s: BpdaSurrogate, opset: number): ModelIR {
  const what = describe(s);
  if (s.node !== undefined && s.opType !== undefined) {
    throw new GibbonError('invalid_option', `${what}: give node (a node name) or opType, not both`, { option: 'nonDifferentiable' });
  }
  const model = canonicalize(s.model);
  const g = model.graph;
  const inputs = g.inputs.filter((v) => !g.initializers.has(v.name));
  if (inputs.length !== 1 || g.outputs.length !== 1) {
    throw new GibbonError(
      'invalid_model',
      `${what} must have one input and one output; it has inputs [${inputs.map((v) => v.name).join(', ')}] and outputs [${g.outputs.map((v) => v.name).join(', ')}]`,
      { option: 'nonDifferentiable', path: s.model.path },
    );
  }
  if (!isFloatType(inputs[0]!.dataType)) {
    throw new GibbonError('invalid_model', `${what}: its input '${inputs[0]!.name}' must be a float tensor`, {
      option: 'nonDifferentiable',
      path: s.model.path,
    });
  }
  const foreign = g.nodes.find((n) => n.domain !== '');
  if (foreign) {
    throw new GibbonError(
      'invalid_model',
      `${what}: node '${foreign.name}' is in domain '${foreign.domain}'; surrogates may use default-domain ONNX ops only`,
      {
        option: 'nonDifferentiable',
        node: { name: foreign.name, opType: foreign.opType },
      },
    );
  }
  if (model.opset > opset) {
    throw new GibbonError('invalid_model', `${what} uses opset ${model.opset} but the model uses ${opset}; export the surrogate with opset ≤ ${opset}`, {
      option: 'nonDifferentiable',
      path: s.model.path,
    });
  }
  return model;
}

/**
 * Resolves a policy against a graph: finds the nodes each surrogate replaces and learns the shapes
 * of the surrogate's values at each node's input shape. Fails when a surrogate matches no
 * non-differentiable node (listing the ones there are), or matches a differentiable one.
 */
export async function prepareSurrogates(
  policy: NonDifferentiablePolicy | undefined,
  graph: Graph,
  facts: ReadonlyMap<string, ValueFacts>,
  opset: number,
): Promise<PreparedPolicy> {
  if (policy === undefined || policy === 'zero' || policy === 'identity') return policy ?? 'zero';
  const isFloat = (v: string): boolean => v !== '' && isFloatType(facts.get(v)?.dataType ?? 0);
  const nonDifferentiable = graph.nodes.filter((n) => isNonDifferentiableNode(n, isFloat));
  const listed = nonDifferentiable.length > 0 ? nonDifferentiable.map((n) => `${n.opType} '${n.name}'`).join(', ') : 'none';
  const byNode = new Map<string, PreparedSurrogate>();
  const chosen = new Map<string, BpdaSurrogate>();
  // Later assignments win: catch-all surrogates, then op types, then node names.
  const rank = (s: BpdaSurrogate): number => (s.node !== undefined ? 2 : s.opType !== undefined ? 1 : 0);
  const ordered = [...policy.surrogates].sort((a, b) => rank(a) - rank(b));
  for (const s of ordered) {
    // An op type selects the non-differentiable nodes of that type (a float Cast is differentiable).
    const matches =
      s.node !== undefined ? graph.nodes.filter((n) => n.name === s.node) : nonDifferentiable.filter((n) => s.opType === undefined || n.opType === s.opType);
    if (matches.length === 0) {
      const wanted = s.node !== undefined ? `node '${s.node}'` : s.opType !== undefined ? `${s.opType} node` : 'non-differentiable node';
      throw new GibbonError('invalid_option', `${describe(s)}: the model has no ${wanted}; its non-differentiable nodes: ${listed}`, {
        option: 'nonDifferentiable',
      });
    }
    for (const n of matches) {
      if (!nonDifferentiable.includes(n)) {
        throw new GibbonError(
          'invalid_option',
          `${describe(s)}: node '${n.name}' (${n.opType}) is differentiable; surrogates replace non-differentiable ops only (${listed})`,
          {
            option: 'nonDifferentiable',
            node: { name: n.name, opType: n.opType },
          },
        );
      }
      chosen.set(n.name, s);
    }
  }
  const canonical = new Map<BpdaSurrogate, ModelIR>();
  const probed = new Map<string, ReadonlyMap<string, ValueFacts>>();
  for (const n of nonDifferentiable) {
    const s = chosen.get(n.name);
    if (!s) continue;
    let model = canonical.get(s);
    if (!model) canonical.set(s, (model = checkSurrogate(s, opset)));
    const x = facts.get(n.inputs[0]!);
    const y = facts.get(n.outputs[0]!);
    if (!x || !y) throw new GibbonError('internal', `no shape known for the input or output of node '${n.name}'`);
    const key = `${describe(s)}|${x.shape.join(',')}`;
    let sFacts = probed.get(key);
    if (!sFacts) probed.set(key, (sFacts = await probeAt(model, x, describe(s))));
    const out = sFacts.get(model.graph.outputs[0]!.name)!;
    if (out.shape.length !== y.shape.length || out.shape.some((d, i) => d !== y.shape[i])) {
      throw new GibbonError(
        'invalid_model',
        `${describe(s)} maps the input of node '${n.name}' (shape [${x.shape.join(', ')}]) to shape [${out.shape.join(', ')}], but the node's output has shape [${y.shape.join(', ')}]; a surrogate must keep the shape`,
        { option: 'nonDifferentiable', node: { name: n.name, opType: n.opType } },
      );
    }
    byNode.set(n.name, { label: describe(s), graph: model.graph, facts: sFacts });
  }
  return { byNode, otherwise: policy.otherwise ?? 'zero' };
}

/** Shapes of the surrogate's values for an input of the given facts (the batch dimension may be dynamic). */
async function probeAt(model: ModelIR, x: ValueFacts, what: string): Promise<Map<string, ValueFacts>> {
  if (x.shape.some((d, i) => d === null && i > 0)) {
    throw new GibbonError(
      'invalid_model',
      `${what}: the replaced node's input has dynamic dimensions [${x.shape.join(', ')}] beyond the batch; surrogates need static ones`,
      {
        option: 'nonDifferentiable',
      },
    );
  }
  const g = model.graph;
  const input = g.inputs.find((v) => !g.initializers.has(v.name))!;
  const shaped: ModelIR = {
    ...model,
    graph: {
      ...g,
      inputs: g.inputs.map((v) => (v === input ? { ...v, dataType: x.dataType, shape: x.shape.map((d) => d ?? 'batch') } : v)),
      // Shapes declared for another input shape would contradict the probe's.
      outputs: g.outputs.map((v) => ({ ...v, shape: null })),
      valueInfo: [],
    },
  };
  return probeValues(shaped);
}

/** Differentiates the inlined nodes: the gradient of the surrogate's input given the seed's cotangent. */
export type Differentiate = (sub: {
  readonly nodes: Node[];
  readonly facts: Map<string, ValueFacts>;
  readonly seed: { readonly value: string; readonly grad: string };
}) => string;

/**
 * Inlines the surrogate at `x` (its forward values are computed in the gradient graph) and returns
 * the gradient of x given the node output's cotangent `dY`.
 */
export function surrogateGradient(
  b: GraphBuilder,
  surrogate: PreparedSurrogate,
  x: string,
  dY: string,
  facts: ReadonlyMap<string, ValueFacts>,
  differentiate: Differentiate,
): string {
  const g = surrogate.graph;
  const input = g.inputs.find((v) => !g.initializers.has(v.name))!.name;
  const rename = new Map<string, string>([[input, x]]);
  const merged = new Map(facts);
  const local = (v: string): string => {
    if (v === '') return v;
    let name = rename.get(v);
    if (!name) {
      name = b.fresh('bpda');
      rename.set(v, name);
      const f = surrogate.facts.get(v);
      if (f) merged.set(name, f);
    }
    return name;
  };
  for (const [name, t] of g.initializers) {
    const local_ = local(name);
    b.graph.initializers.set(local_, { ...t, name: local_ });
  }
  const nodes: Node[] = g.nodes.map((n) => ({
    ...n,
    name: b.fresh(`bpda_${n.opType}`),
    inputs: n.inputs.map(local),
    outputs: n.outputs.map(local),
  }));
  b.graph.nodes.push(...nodes);
  return differentiate({ nodes, facts: merged, seed: { value: local(g.outputs[0]!.name), grad: dY } });
}
