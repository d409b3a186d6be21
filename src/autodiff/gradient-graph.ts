/**
 * buildGradientGraph: from a classifier, a new ONNX model that computes, in one onnxruntime run,
 * the per-example loss, its sum, the logits and the gradients of the summed (or mean) loss with
 * respect to the input and/or initializers.
 *
 * Inputs of the gradient model: the classifier's inputs, `labels` (int64, N), `targets` (int64,
 * N; targeted losses only) and, with `paramsAsInputs`, the trainable initializers (their stored
 * values are defaults). Outputs: `loss` (N), `loss_sum` (scalar), `logits` (N, C) and
 * `grad:<name>` per differentiated value.
 *
 * Models that end in Softmax (they output probabilities) are differentiated from the logits that
 * feed the Softmax; `logitsSource` says which was used.
 */
import { GibbonError, UnsupportedOpError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { DataType as DT, isFloatType } from '../onnx/dtypes.js';
import { ancestorsOf, topologicalSort, type Dim, type Graph, type ValueInfo } from '../onnx/graph.js';
import { findLogits, type LogitsSource } from '../onnx/logits.js';
import { renameValue } from '../onnx/rename.js';
import type { ModelIR } from '../onnx/model.js';
import type { NonDifferentiablePolicy } from './backprop.js';
import { DEFAULT_VJP_REGISTRY, differentiate } from './differentiate.js';
import { EMBEDDING_LOSS, emitEmbeddingHead, emitLossHead, isTargetedLoss, LOSS_NAMES, type EmbeddingLoss, type LossName } from './loss-heads.js';
import { fixedBatchOf, probeValues, type ValueFacts } from './probe.js';
import { batchAxisOf } from './batch-axis.js';
import { commuteReluPool } from './commute-relu-pool.js';
import { probeWithBranches } from './branch-probe.js';
import type { VjpRegistry } from './registry.js';
import { NON_DIFFERENTIABLE_OPS, SHAPE_OPS } from './vjp-rule.js';
import { unrollRecurrent } from './unroll-recurrent.js';

export const LABELS_INPUT = 'labels';
export const TARGETS_INPUT = 'targets';
/** The reference embeddings (N, D) of the 'embedding' loss. */
export const REFERENCE_INPUT = 'reference';
export const LOSS_OUTPUT = 'loss';
export const LOSS_SUM_OUTPUT = 'loss_sum';
export const LOGITS_OUTPUT = 'logits';
export { DEFAULT_VJP_REGISTRY, gradOutputName } from './differentiate.js';

export interface GradientGraphOptions {
  /** 'input' (the first graph input), 'params' (all trainable initializers) or explicit value names. */
  wrt: 'input' | 'params' | readonly string[];
  /** A classification loss head, or 'embedding' (distance from the input 'reference'). */
  loss: LossName | EmbeddingLoss;
  /** Gradient of the summed loss (default) or of the mean over the batch. */
  reduction?: 'sum' | 'mean';
  /** Feed trainable initializers as inputs (training); default keeps them constant (faster). */
  paramsAsInputs?: boolean;
  /** How to treat Round/Sign/… on the gradient path: true gradient 'zero' (default), straight-through 'identity', or surrogates (BPDA, surrogates.ts). */
  nonDifferentiable?: NonDifferentiablePolicy;
  /** Which graph output holds the class scores (default: the first). */
  output?: string;
  /** How to read class scores from an output of rank ≥ 3 (see attachClassScores). */
  outputReduce?: OutputReduction;
  /** The data input ('input' in wrt means this one; default: the first float input). */
  input?: string;
  /** Sizes for symbolic non-batch input dimensions. */
  inputShapes?: Record<string, readonly (number | null)[]>;
  registry?: VjpRegistry;
}

export interface GradientGraph {
  readonly model: ModelIR;
  /** The classifier's (data) input. */
  readonly input: string;
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  readonly loss: LossName | EmbeddingLoss;
  readonly targeted: boolean;
  /** Differentiated value name → output name. */
  readonly gradOutputs: ReadonlyMap<string, string>;
  /** Initializers fed as inputs (paramsAsInputs). */
  readonly paramInputs: readonly string[];
  readonly logitsSource: LogitsSource;
  /** One score read as two classes (see attachClassScores). */
  readonly binary: boolean;
  readonly nonDifferentiableNodes: readonly { name: string; opType: string }[];
  /** Nodes whose gradient is a straight-through estimate (rounding in quantised ops: DynamicQuantizeLinear, QLinearConv …). */
  readonly straightThroughNodes: readonly { name: string; opType: string }[];
}

/** One score s (N, 1) as the two-class logits (0, s) (N, 2): softmax of them is (1 − σ(s), σ(s)). */
export function emitBinaryLogits(b: GraphBuilder, score: string, dataType: number = DT.FLOAT): string {
  const zeros =
    dataType === DT.FLOAT
      ? b.op('ConstantOfShape', [b.op('Shape', [score])], {}, { name: 'binary_zero' })
      : b.op('Sub', [score, score], {}, { name: 'binary_zero' });
  return b.op('Concat', [zeros, score], { axis: 1 }, { name: 'binary_logits' });
}

/** How class scores are read from an output with more than two dimensions. */
export const OUTPUT_REDUCTIONS = ['mean', 'max', 'flatten'] as const;
export type OutputReduction = (typeof OUTPUT_REDUCTIONS)[number];

export interface ClassScores {
  /** The (N, C) value the loss heads and predictions use. */
  readonly scores: string;
  readonly numClasses: number;
  readonly source: LogitsSource;
  /** The graph output read. */
  readonly output: string;
  /** One score s read as two classes, logits (0, s): softmax gives (1 − σ(s), σ(s)). */
  readonly binary: boolean;
  /** Shape of the value the scores come from (before any reduction), batch first and as null. */
  readonly rawShape: readonly (number | null)[];
}

/** Largest number of classes gibbon reads from one output (a larger declared size is refused before allocation). */
export const MAX_CLASSES = 2 ** 22;

/**
 * The class-score axis of an output of rank ≥ 3: (N, T, C) → 2; (N, 1, …, 1, D) → the last; else
 * channels first, (N, C, H, W) → 1.
 */
export function classAxis(shape: readonly (number | null)[]): number {
  const r = shape.length;
  if (r === 3) return 2;
  return shape.slice(1, r - 1).every((d) => d === 1) ? r - 1 : 1;
}

/**
 * Appends to a canonical graph the nodes that turn its output into class scores (N, C): the logits
 * behind a final Softmax or Sigmoid; a reduction (mean or max over the other axes, or flatten) for
 * outputs of rank ≥ 3 (a map, a sequence, an embedding (N, 1, 1, D) needs none); one score s read as
 * the two-class logits (0, s). The graph's outputs are left as they are. Probes only the one value.
 */
export async function attachClassScores(
  model: ModelIR,
  options: { output?: string; reduce?: OutputReduction; inputShapes?: Record<string, readonly (number | null)[]> } = {},
): Promise<ClassScores> {
  const g = model.graph;
  const found = findLogits(g, options.output);
  const declared = g.outputs.find((o) => o.name === found.output)?.shape;
  const last = declared?.[declared.length - 1];
  if (declared && declared.length >= 2 && typeof last === 'number' && last > MAX_CLASSES) {
    throw new GibbonError('invalid_model', `output '${found.output}' declares ${last} classes, more than gibbon reads (${MAX_CLASSES})`, { option: 'output' });
  }
  // A declared (batch, classes) output needs no run (Softmax and Sigmoid keep the shape of their input).
  const fact =
    declared?.length === 2 && typeof last === 'number' && last > 0
      ? { shape: [null, last], dataType: g.outputs.find((o) => o.name === found.output)!.dataType || DT.FLOAT }
      : (await probeValues(model, { values: [found.logits], inputShapes: options.inputShapes })).get(found.logits);
  if (!fact) throw new GibbonError('internal', `could not learn the shape of '${found.logits}'`);
  if (fact.shape.length < 2)
    throw new GibbonError('invalid_model', `output '${found.output}' has shape [N]; class scores need (batch, classes)`, { option: 'output' });
  const batch = batchAxisOf(fact.shape, fixedBatchOf(model, options.inputShapes), found.output);
  const where = `output '${found.output}' has shape [${fact.shape.map((d, i) => (i === batch ? 'N' : d)).join(', ')}]`;
  const order = [batch, ...[...fact.shape.keys()].filter((a) => a !== batch)];
  const shape = order.map((a, i) => (i === 0 ? null : fact.shape[a]!));
  const b = new GraphBuilder(g, 'gibbon_head');
  // Batch first: a (T, N, C) sequence output becomes (N, T, C), so reductions never mix examples.
  let scores = batch === 0 ? found.logits : b.op('Transpose', [found.logits], { perm: order }, { name: 'batch_first' });
  let after = shape[1]!;
  if (shape.length > 2) {
    const axis = classAxis(shape);
    const others = shape.map((_, i) => i).filter((i) => i !== 0 && i !== axis);
    const trivial = others.every((i) => shape[i] === 1);
    const reduce = options.reduce ?? (trivial ? 'flatten' : undefined);
    if (!reduce) {
      throw new GibbonError(
        'invalid_option',
        `${where}, not (batch, classes); say how to read class scores from it: option outputReduce mean or max (over axes ${others.map((i) => order[i]).join(', ')}, classes on axis ${order[axis]}) or flatten`,
        { option: 'outputReduce' },
      );
    }
    if (reduce === 'flatten') {
      scores = b.op('Flatten', [scores], { axis: 1 }, { name: 'flatten' });
      after = shape.slice(1).reduce<number>((a, d) => a * d!, 1);
    } else {
      const op = reduce === 'mean' ? 'ReduceMean' : 'ReduceMax';
      scores = b.op(op, [scores, b.int64s(others)], { keepdims: 0 }, { name: reduce });
      after = shape[axis]!;
    }
  }
  if (after === null || after < 1) throw new GibbonError('invalid_model', `${where}; it holds no class scores`, { option: 'output' });
  if (after > MAX_CLASSES)
    throw new GibbonError('invalid_model', `${where}: ${after} class scores, more than gibbon reads (${MAX_CLASSES})`, { option: 'output' });
  const binary = after === 1;
  if (binary) scores = emitBinaryLogits(b, scores, fact.dataType);
  return { scores, numClasses: binary ? 2 : after, source: found.source, output: found.output, binary, rawShape: shape };
}

/** The data input: the one named (it must be a float graph input), else the first float input. */
export function dataInputName(g: Graph, name?: string): string {
  const floats = g.inputs.filter((v) => isFloatType(v.dataType) && !g.initializers.has(v.name));
  if (name !== undefined) {
    const v = g.inputs.find((i) => i.name === name);
    if (!v) throw new GibbonError('invalid_option', `model has no input '${name}'; inputs: ${g.inputs.map((i) => i.name).join(', ')}`, { option: 'wrt-input' });
    if (!isFloatType(v.dataType))
      throw new GibbonError('invalid_option', `input '${name}' is not a float tensor, so it cannot be differentiated`, { option: 'wrt-input' });
    return name;
  }
  if (floats.length === 0) throw new GibbonError('invalid_model', 'model has no float input to differentiate');
  return floats[0]!.name;
}

/**
 * Fails before any probing when an op on the path from the differentiated values to the loss has
 * no gradient rule (the same walk backprop makes, with types read from the ops: the walk stops at
 * shape plumbing, non-differentiable ops and Casts to integers).
 */
export function checkRuleSupport(g: Graph, wrt: readonly string[], registry: VjpRegistry, opset: number): void {
  const reachable = new Set(wrt);
  for (const n of topologicalSort(g)) {
    if (!n.inputs.some((i) => reachable.has(i))) continue;
    if (n.domain === '' && (SHAPE_OPS.includes(n.opType) || NON_DIFFERENTIABLE_OPS.includes(n.opType))) continue;
    if (n.domain === '' && n.opType === 'Cast' && !isFloatType(Number(n.attributes.find((a) => a.name === 'to')?.i ?? 1))) continue;
    if (!registry.lookup(n.opType, opset, n.domain)) throw new UnsupportedOpError(n.opType, n.name, registry.supportedOps, n.domain);
    for (const o of n.outputs) if (o) reachable.add(o);
  }
}

/**
 * Float initializers that are model parameters: not BatchNorm running statistics, not settings fed
 * as inputs (Dropout's ratio, Clip's bounds), not scalars (0-d values are constants of the
 * exported expression, e.g. a normalisation's mean), not folded Constant nodes.
 */
export function trainableInitializers(model: ModelIR): string[] {
  const g = model.graph;
  const settings = new Set<string>();
  for (const n of g.nodes) {
    if (n.domain !== '') continue;
    if (n.opType === 'BatchNormalization') n.inputs.slice(3, 5).forEach((i) => settings.add(i));
    if (n.opType === 'Dropout') n.inputs.slice(1).forEach((i) => settings.add(i));
    if (n.opType === 'Clip') n.inputs.slice(1).forEach((i) => settings.add(i));
  }
  return [...g.initializers.values()].filter((t) => isFloatType(t.dataType) && !settings.has(t.name) && t.dims.length > 0).map((t) => t.name);
}

/**
 * The outputs every loss graph has: `loss` (per example), `loss_sum` and `logits` (the model's
 * scores as they are laid out), emitted as nodes; returns their declarations.
 */
export function emitLossOutputs(b: GraphBuilder, loss: string, lossType: number, scores: { value: string; dataType: number; shape: Dim[] }): ValueInfo[] {
  const lossSum = b.op('ReduceSum', [loss], { keepdims: 0 }, { name: 'loss_sum' });
  b.node('Identity', [loss], {}, { outputNames: [LOSS_OUTPUT] });
  b.node('Identity', [lossSum], {}, { outputNames: [LOSS_SUM_OUTPUT] });
  if (scores.value !== LOGITS_OUTPUT) b.node('Identity', [scores.value], {}, { outputNames: [LOGITS_OUTPUT] });
  return [
    { name: LOSS_OUTPUT, dataType: lossType, shape: [null] },
    { name: LOSS_SUM_OUTPUT, dataType: lossType, shape: [] },
    { name: LOGITS_OUTPUT, dataType: scores.dataType, shape: scores.shape },
  ];
}

export async function buildGradientGraph(source: ModelIR, options: GradientGraphOptions): Promise<GradientGraph> {
  const embedding = options.loss === EMBEDDING_LOSS;
  if (!embedding && !LOSS_NAMES.includes(options.loss as LossName)) {
    throw new GibbonError('invalid_option', `unknown loss '${options.loss}'; valid: ${[...LOSS_NAMES, EMBEDDING_LOSS].join(', ')}`, { option: 'loss' });
  }
  const trainable = trainableInitializers(source); // before Constant folding adds initializers
  const model = canonicalize(source);
  const g = model.graph;
  const registry = options.registry ?? DEFAULT_VJP_REGISTRY;
  const input = dataInputName(g, options.input);
  for (const name of [LABELS_INPUT, TARGETS_INPUT, REFERENCE_INPUT]) {
    if (g.inputs.some((v) => v.name === name)) throw new GibbonError('invalid_model', `model already has an input named '${name}', which gibbon reserves`);
  }

  const wrt = options.wrt === 'input' ? [input] : options.wrt === 'params' ? trainable : [...options.wrt];
  for (const w of wrt) {
    if (!g.inputs.some((v) => v.name === w) && !g.initializers.has(w) && !g.nodes.some((n) => n.outputs.includes(w))) {
      throw new GibbonError('invalid_option', `cannot differentiate with respect to '${w}': no such input, initializer or value`, { option: 'wrt' });
    }
  }
  if (wrt.length === 0) throw new GibbonError('invalid_option', 'nothing to differentiate with respect to (no trainable initializers?)', { option: 'wrt' });

  const head = await attachClassScores(model, { output: options.output, reduce: options.outputReduce, inputShapes: options.inputShapes });
  const logitsSource = head.source;
  for (const reserved of [LOSS_OUTPUT, LOSS_SUM_OUTPUT, LOGITS_OUTPUT]) {
    if (reserved !== head.scores) renameValue(g, reserved, `${reserved}__model`);
  }
  const logits = head.scores;
  const numClasses = head.numClasses;
  const targeted = isTargetedLoss(options.loss);
  const b = new GraphBuilder(g, 'gibbon');
  if (!embedding) g.inputs.push({ name: LABELS_INPUT, dataType: DT.INT64, shape: [null] });
  if (targeted) g.inputs.push({ name: TARGETS_INPUT, dataType: DT.INT64, shape: [null] });
  if (embedding) g.inputs.push({ name: REFERENCE_INPUT, dataType: DT.FLOAT, shape: [null, numClasses] });
  const lossValue = embedding
    ? emitEmbeddingHead(b, logits, REFERENCE_INPUT)
    : emitLossHead(b, options.loss as LossName, { logits, labels: LABELS_INPUT, targets: targeted ? TARGETS_INPUT : undefined, numClasses });

  // Keep only what the loss and logits need; check rule support before the (costlier) probe.
  const keep = ancestorsOf(g, [lossValue, logits]);
  g.nodes = g.nodes.filter((n) => n.outputs.some((o) => keep.has(o)));
  g.outputs = [];
  commuteReluPool(g, new Set([...wrt, lossValue, logits]));
  const fullProbe = { inputShapes: options.inputShapes, labelInputs: [LABELS_INPUT, TARGETS_INPUT] };
  await unrollRecurrent(model, fullProbe); // LSTM/GRU/RNN → standard ops, for backprop
  checkRuleSupport(g, wrt, registry, model.opset);
  const facts: Map<string, ValueFacts> = await probeWithBranches(model, fullProbe);
  const logitsShape = facts.get(logits)?.shape;
  if (!logitsShape || logitsShape.length !== 2 || logitsShape[1] !== numClasses) {
    throw new GibbonError('invalid_model', `class scores '${logits}' should have shape (batch, ${numClasses}); found [${logitsShape?.join(', ') ?? '?'}]`);
  }
  const lossType = facts.get(lossValue)!.dataType;

  // Where(true, 1, loss), not Expand(1, Shape(loss)): onnxruntime infers its shape (see zerosOfShape).
  const ones = b.op('Where', [b.constant(DT.BOOL, [], Uint8Array.of(1), 'true'), b.scalar(1, lossType), lossValue], {}, { name: 'seed' });
  const seedGrad =
    options.reduction === 'mean' ? b.op('Div', [ones, b.op('Cast', [b.op('Size', [lossValue])], { to: lossType })], {}, { name: 'seed_mean' }) : ones;
  const result = await differentiate(model, {
    builder: b,
    facts,
    registry,
    wrt,
    seeds: [{ value: lossValue, grad: seedGrad }],
    nonDifferentiable: options.nonDifferentiable,
  });

  const scores = { value: logits, dataType: facts.get(logits)!.dataType, shape: [null, numClasses] };
  g.outputs = [...emitLossOutputs(b, lossValue, lossType, scores), ...result.outputs];

  const paramInputs: string[] = [];
  if (options.paramsAsInputs) {
    for (const w of wrt) {
      const t = g.initializers.get(w);
      if (!t) continue;
      g.inputs.push({ name: w, dataType: t.dataType, shape: t.dims.map(Number) });
      paramInputs.push(w);
    }
  }
  const inputShape = facts.get(input)!.shape;
  return {
    model,
    input,
    inputShape,
    numClasses,
    loss: options.loss,
    targeted,
    gradOutputs: result.gradOutputs,
    paramInputs,
    logitsSource,
    binary: head.binary,
    nonDifferentiableNodes: result.nonDifferentiableNodes,
    straightThroughNodes: result.straightThroughNodes,
  };
}
