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
import { GibbonError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { DataType as DT, isFloatType } from '../onnx/dtypes.js';
import { ancestorsOf, producers, type Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { backprop, type NonDifferentiablePolicy } from './backprop.js';
import { emitLossHead, isTargetedLoss, LOSS_NAMES, type LossName } from './loss-heads.js';
import { probeValues, type ValueFacts } from './probe.js';
import { probeWithBranches } from './branch-probe.js';
import { createVjpRegistry, type VjpRegistry } from './registry.js';
import { ALL_RULES } from './rules/index.js';
import { prepareSurrogates } from './surrogates.js';
import { unrollRecurrent } from './unroll-recurrent.js';

export const LABELS_INPUT = 'labels';
export const TARGETS_INPUT = 'targets';
export const LOSS_OUTPUT = 'loss';
export const LOSS_SUM_OUTPUT = 'loss_sum';
export const LOGITS_OUTPUT = 'logits';
export const gradOutputName = (value: string): string => `grad:${value}`;

export interface GradientGraphOptions {
  /** 'input' (the first graph input), 'params' (all trainable initializers) or explicit value names. */
  wrt: 'input' | 'params' | readonly string[];
  loss: LossName;
  /** Gradient of the summed loss (default) or of the mean over the batch. */
  reduction?: 'sum' | 'mean';
  /** Feed trainable initializers as inputs (training); default keeps them constant (faster). */
  paramsAsInputs?: boolean;
  /** How to treat Round/Sign/… on the gradient path: true gradient 'zero' (default), straight-through 'identity', or surrogates (BPDA, surrogates.ts). */
  nonDifferentiable?: NonDifferentiablePolicy;
  /** Which graph output holds the class scores (default: the first). */
  output?: string;
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
  readonly loss: LossName;
  readonly targeted: boolean;
  /** Differentiated value name → output name. */
  readonly gradOutputs: ReadonlyMap<string, string>;
  /** Initializers fed as inputs (paramsAsInputs). */
  readonly paramInputs: readonly string[];
  readonly logitsSource: 'output' | 'softmax-input';
  readonly nonDifferentiableNodes: readonly { name: string; opType: string }[];
  /** Nodes whose gradient is a straight-through estimate (rounding in quantised ops: DynamicQuantizeLinear, QLinearConv …). */
  readonly straightThroughNodes: readonly { name: string; opType: string }[];
}

/** The registry of all shipped rules (immutable). */
export const DEFAULT_VJP_REGISTRY: VjpRegistry = createVjpRegistry(ALL_RULES);

/** Renames a value everywhere in the graph (no-op if absent). */
export function renameValue(g: Graph, from: string, to: string): void {
  const swap = (v: string): string => (v === from ? to : v);
  for (const n of g.nodes) {
    n.inputs = n.inputs.map(swap);
    n.outputs = n.outputs.map(swap);
  }
  for (const v of [...g.inputs, ...g.outputs]) if (v.name === from) v.name = to;
  const init = g.initializers.get(from);
  if (init) {
    g.initializers.delete(from);
    g.initializers.set(to, { ...init, name: to });
  }
}

/** The class-score value of a graph: a Softmax's input if the output is a Softmax. */
export function findLogits(g: Graph, output?: string): { logits: string; source: 'output' | 'softmax-input'; output: string } {
  const out = output ?? g.outputs[0]?.name;
  if (!out || !g.outputs.some((o) => o.name === out)) {
    throw new GibbonError('invalid_option', `model has no output '${output}'; outputs: ${g.outputs.map((o) => o.name).join(', ')}`, { option: 'output' });
  }
  const prod = producers(g);
  let v = out;
  // Look through trivial wrappers (Identity, Flatten of a 2-D Softmax is rare; keep to Identity).
  for (let p = prod.get(v); p && p.opType === 'Identity'; p = prod.get(v)) v = p.inputs[0]!;
  const p = prod.get(v);
  if (p && p.domain === '' && p.opType === 'Softmax') {
    return { logits: p.inputs[0]!, source: 'softmax-input', output: out };
  }
  return { logits: out, source: 'output', output: out };
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

export async function buildGradientGraph(source: ModelIR, options: GradientGraphOptions): Promise<GradientGraph> {
  if (!LOSS_NAMES.includes(options.loss)) {
    throw new GibbonError('invalid_option', `unknown loss '${options.loss}'; valid: ${LOSS_NAMES.join(', ')}`, { option: 'loss' });
  }
  const trainable = trainableInitializers(source); // before Constant folding adds initializers
  const model = canonicalize(source);
  const g = model.graph;
  const registry = options.registry ?? DEFAULT_VJP_REGISTRY;
  const dataInputs = g.inputs.filter((v) => isFloatType(v.dataType));
  if (dataInputs.length === 0) throw new GibbonError('invalid_model', 'model has no float input to differentiate');
  const input = dataInputs[0]!.name;
  for (const name of [LABELS_INPUT, TARGETS_INPUT]) {
    if (g.inputs.some((v) => v.name === name)) throw new GibbonError('invalid_model', `model already has an input named '${name}', which gibbon reserves`);
  }

  const wrt = options.wrt === 'input' ? [input] : options.wrt === 'params' ? trainable : [...options.wrt];
  for (const w of wrt) {
    if (!g.inputs.some((v) => v.name === w) && !g.initializers.has(w) && !g.nodes.some((n) => n.outputs.includes(w))) {
      throw new GibbonError('invalid_option', `cannot differentiate with respect to '${w}': no such input, initializer or value`, { option: 'wrt' });
    }
  }
  if (wrt.length === 0) throw new GibbonError('invalid_option', 'nothing to differentiate with respect to (no trainable initializers?)', { option: 'wrt' });

  const found = findLogits(g, options.output);
  const logitsSource = found.source;
  for (const reserved of [LOSS_OUTPUT, LOSS_SUM_OUTPUT, LOGITS_OUTPUT]) {
    if (reserved !== found.logits) renameValue(g, reserved, `${reserved}__model`);
  }
  const logits = found.logits;
  const targeted = isTargetedLoss(options.loss);
  const b = new GraphBuilder(g, 'gibbon');
  g.inputs.push({ name: LABELS_INPUT, dataType: DT.INT64, shape: [null] });
  if (targeted) g.inputs.push({ name: TARGETS_INPUT, dataType: DT.INT64, shape: [null] });

  // The loss head needs the number of classes: the output's declared shape gives it (a final
  // Softmax keeps the shape of the logits); only an undeclared one costs an extra probe.
  const probeOptions = { inputShapes: options.inputShapes, labelInputs: [LABELS_INPUT, TARGETS_INPUT] };
  const declared = g.outputs.find((o) => o.name === found.output)?.shape;
  const declaredClasses = declared?.length === 2 && typeof declared[1] === 'number' && declared[1] > 0 ? declared[1] : undefined;
  const logitsShapeError = (shape: readonly (number | null)[] | undefined): GibbonError =>
    new GibbonError('invalid_model', `class scores '${logits}' should have shape (batch, classes); found [${shape?.join(', ') ?? '?'}]`);
  let numClasses: number;
  if (declaredClasses !== undefined) numClasses = declaredClasses;
  else {
    const shape = (await probeValues(model, probeOptions)).get(logits)?.shape;
    if (!shape || shape.length !== 2 || shape[1] === null) throw logitsShapeError(shape);
    numClasses = shape[1]!;
  }
  const lossValue = emitLossHead(b, options.loss, { logits, labels: LABELS_INPUT, targets: targeted ? TARGETS_INPUT : undefined, numClasses });

  // Keep only what the loss and logits need; probe again for the head's values.
  const keep = ancestorsOf(g, [lossValue, logits]);
  g.nodes = g.nodes.filter((n) => n.outputs.some((o) => keep.has(o)));
  g.outputs = [];
  await unrollRecurrent(model, probeOptions); // LSTM/GRU/RNN → standard ops, for backprop
  const facts: Map<string, ValueFacts> = await probeWithBranches(model, probeOptions);
  const logitsShape = facts.get(logits)?.shape;
  if (!logitsShape || logitsShape.length !== 2 || logitsShape[1] !== numClasses) throw logitsShapeError(logitsShape);
  const lossType = facts.get(lossValue)!.dataType;

  // Where(true, 1, loss), not Expand(1, Shape(loss)): onnxruntime infers its shape (see zerosOfShape).
  const ones = b.op('Where', [b.constant(DT.BOOL, [], Uint8Array.of(1), 'true'), b.scalar(1, lossType), lossValue], {}, { name: 'seed' });
  const seedGrad =
    options.reduction === 'mean'
      ? b.op('Div', [ones, b.op('Cast', [b.op('Size', [lossValue])], { to: lossType })], {}, { name: 'seed_mean' })
      : ones;
  const forwardNodeCount = g.nodes.length;
  const nonDifferentiable = await prepareSurrogates(options.nonDifferentiable, g, facts, model.opset);
  const result = backprop({
    graph: { ...g, nodes: g.nodes.slice(0, forwardNodeCount) },
    builder: b,
    facts,
    registry,
    opset: model.opset,
    wrt,
    seeds: [{ value: lossValue, grad: seedGrad }],
    nonDifferentiable,
  });

  const lossSum = b.op('ReduceSum', [lossValue], { keepdims: 0 }, { name: 'loss_sum' });
  const gradOutputs = new Map<string, string>();
  b.node('Identity', [lossValue], {}, { outputNames: [LOSS_OUTPUT] });
  b.node('Identity', [lossSum], {}, { outputNames: [LOSS_SUM_OUTPUT] });
  if (logits !== LOGITS_OUTPUT) b.node('Identity', [logits], {}, { outputNames: [LOGITS_OUTPUT] });
  const outputs = [
    { name: LOSS_OUTPUT, dataType: lossType, shape: [null] },
    { name: LOSS_SUM_OUTPUT, dataType: lossType, shape: [] },
    { name: LOGITS_OUTPUT, dataType: facts.get(logits)!.dataType, shape: [null, numClasses] },
  ];
  for (const [w, grad] of result.grads) {
    const name = gradOutputName(w);
    b.node('Identity', [grad], {}, { outputNames: [name] });
    const f = facts.get(w)!;
    outputs.push({ name, dataType: f.dataType, shape: [...f.shape] });
    gradOutputs.set(w, name);
  }
  g.outputs = outputs;

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
    gradOutputs,
    paramInputs,
    logitsSource,
    nonDifferentiableNodes: result.nonDifferentiableNodes,
    straightThroughNodes: result.straightThroughNodes,
  };
}

