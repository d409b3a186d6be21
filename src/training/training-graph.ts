/**
 * buildTrainingGraph: from an inference classifier, an ONNX model that does one training (or
 * attack) step's forward and backward pass in a single onnxruntime run.
 *
 * Mode 'train' rewrites the graph as PyTorch's `model.train()` runs it:
 * - BatchNormalization normalises with the batch's statistics (biased variance) and outputs
 *   them (`bn_mean:<node>`, `bn_var:<node>`, per channel) so the caller can update the running
 *   averages (see running-stats.ts for the momentum convention);
 * - Dropout multiplies by a mask fed as input (`dropout_mask:<node>`, values 0 or 1/(1 − ratio)),
 *   drawn by the caller from gibbon's seeded generator, so a resumed run draws the same masks.
 * Mode 'eval' keeps inference semantics (running statistics, no dropout); it is what in-training
 * attacks differentiate, as TRADES and most adversarial-training code do (`model.eval()`).
 *
 * The chosen parameters (default: every trainable initializer) become graph inputs, so one
 * session serves every step while the weights change; in 'eval' mode the BatchNorm running
 * statistics become inputs too. Frozen initializers stay constant. A head (heads.ts) computes the
 * loss and its gradient with respect to the logits, which seeds backprop. Outputs: `loss`,
 * `logits`, the BatchNorm statistics (train mode) and `grad:<name>` for each parameter (and for
 * the data input when asked).
 */
import { GibbonError } from '../errors.js';
import { differentiate } from '../autodiff/differentiate.js';
import { attachClassScores, trainableInitializers } from '../autodiff/gradient-graph.js';
import { renameValue } from '../onnx/rename.js';
import { probeValues, type ValueFacts } from '../autodiff/probe.js';
import { probeWithBranches } from '../autodiff/branch-probe.js';
import { unrollRecurrent } from '../autodiff/unroll-recurrent.js';
import { Attributes } from '../onnx/attributes.js';
import { GraphBuilder } from '../onnx/builder.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { DataType as DT, isFloatType } from '../onnx/dtypes.js';
import { ancestorsOf, nodeReads, topologicalSort, type Graph, type Node } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { emitTrainingHead, HEAD_BETA, HEAD_LABELS, HEAD_PROBS, type HeadSpec } from './heads.js';

export const LOSS_OUTPUT = 'loss';
export const LOGITS_OUTPUT = 'logits';
export const bnMeanOutput = (node: string): string => `bn_mean:${node}`;
export const bnVarOutput = (node: string): string => `bn_var:${node}`;
export const dropoutMaskInput = (node: string): string => `dropout_mask:${node}`;
export { HEAD_BETA, HEAD_LABELS, HEAD_PROBS };

export interface TrainingGraphOptions {
  /** 'train' (BatchNorm on batch statistics, Dropout active) or 'eval' (running statistics, no Dropout). Required. */
  mode: 'train' | 'eval';
  /** The loss appended to the logits (mean cross-entropy, TRADES, KL …). Required. */
  head: HeadSpec;
  /** Parameters fed as inputs and differentiated (default: all trainable initializers). */
  params?: readonly string[];
  /** Also output the gradient with respect to the data input (`grad:<input>`). */
  inputGrad?: boolean;
  /** Differentiate the parameters (default true; an attack graph only needs the input gradient). */
  paramGrads?: boolean;
  /** Sizes for symbolic non-batch input dimensions, per input name. Default: the declared shapes. */
  inputShapes?: Record<string, readonly (number | null)[]>;
}

export interface BatchNormInfo {
  readonly node: string;
  readonly runningMean: string;
  readonly runningVar: string;
  /** ONNX convention: running ← momentum · running + (1 − momentum) · batch. */
  readonly momentum: number;
  /** Elements per channel in one example (product of the spatial dimensions). */
  readonly perExample: number;
}

export interface DropoutInfo {
  readonly node: string;
  readonly maskInput: string;
  readonly ratio: number;
  /** Shape of the mask with the batch dimension as null. */
  readonly shape: readonly (number | null)[];
}

export interface TrainingGraph {
  readonly model: ModelIR;
  readonly input: string;
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  /** Parameters fed as inputs (differentiated when paramGrads). */
  readonly params: readonly string[];
  /** Extra state inputs (BatchNorm running statistics, in eval mode). */
  readonly stateInputs: readonly string[];
  readonly batchNorms: readonly BatchNormInfo[];
  readonly dropouts: readonly DropoutInfo[];
  readonly nonDifferentiableNodes: readonly { name: string; opType: string }[];
}

export async function buildTrainingGraph(source: ModelIR, options: TrainingGraphOptions): Promise<TrainingGraph> {
  const trainable = trainableInitializers(source);
  const params = options.params ? [...options.params] : trainable;
  for (const p of params) {
    if (!source.graph.initializers.has(p)) {
      throw new GibbonError(
        'invalid_option',
        `cannot train '${p}': the model has no initializer of that name (trainable: ${trainable.slice(0, 12).join(', ')}${trainable.length > 12 ? ', …' : ''})`,
        { option: 'params' },
      );
    }
    if (!trainable.includes(p))
      throw new GibbonError('invalid_option', `cannot train '${p}': it is not a float parameter (BatchNorm running statistics are updated, not trained)`, {
        option: 'params',
      });
  }
  const model = canonicalize(source);
  const g = model.graph;
  const input = trainingInput(g);
  if (options.inputGrad && !isFloatType(g.inputs.find((v) => v.name === input)!.dataType)) {
    throw new GibbonError('invalid_option', `input '${input}' holds token ids (int64), so it has no gradient; differentiate the embedding output instead`);
  }
  const reserved = [LOSS_OUTPUT, HEAD_LABELS, HEAD_PROBS, HEAD_BETA];
  for (const v of g.inputs)
    if (reserved.includes(v.name)) throw new GibbonError('invalid_model', `model has an input named '${v.name}', which gibbon reserves`);

  // Class scores as grad and eval read them: behind a final Softmax or Sigmoid, one score s as the logits (0, s).
  const classScores = await attachClassScores(model, { inputShapes: options.inputShapes });
  const logits = classScores.scores;
  for (const name of [LOSS_OUTPUT, LOGITS_OUTPUT]) if (name !== logits) renameValue(g, name, `${name}__model`);
  g.outputs = [{ name: logits, dataType: 1, shape: null }];
  // Keep only what computes the logits.
  const needed = ancestorsOf(g, [logits]);
  g.nodes = g.nodes.filter((n) => n.outputs.some((o) => needed.has(o)));

  await unrollRecurrent(model, { inputShapes: options.inputShapes }); // LSTM/GRU/RNN → standard ops, for backprop
  const before = await probeValues(model, { inputShapes: options.inputShapes });
  const b = new GraphBuilder(g, 'train');
  const batchNorms: BatchNormInfo[] = [];
  const dropouts: DropoutInfo[] = [];
  const stateInputs: string[] = [];
  if (options.mode === 'train') {
    g.nodes = g.nodes.flatMap((n) => {
      if (n.domain !== '') return [n];
      if (n.opType === 'BatchNormalization') return rewriteBatchNorm(n, b, before, batchNorms);
      if (n.opType === 'Dropout') return rewriteDropout(n, b, before, dropouts);
      return [n];
    });
    for (const bn of batchNorms) {
      g.outputs.push({ name: bnMeanOutput(bn.node), dataType: 1, shape: null });
      g.outputs.push({ name: bnVarOutput(bn.node), dataType: 1, shape: null });
    }
    for (const d of dropouts) g.inputs.push({ name: d.maskInput, dataType: 1, shape: d.shape.map((s) => s ?? 'batch') });
  } else {
    for (const n of g.nodes) {
      if (n.domain === '' && n.opType === 'BatchNormalization') {
        for (const s of [n.inputs[3]!, n.inputs[4]!]) if (g.initializers.has(s) && !stateInputs.includes(s)) stateInputs.push(s);
      }
    }
  }
  // Rewritten nodes were appended; restore a topological order.
  g.nodes = topologicalSort(g);

  // A token-id model has no float data input: once the parameters are inputs, the probe would take
  // the first of them for the data and read its first dimension as a fixed batch. Probe it before.
  const idInput = !isFloatType(g.inputs.find((v) => v.name === input)!.dataType);
  const early = idInput ? await probeWithBranches(model, { inputShapes: options.inputShapes }) : undefined;
  // Parameters (and eval-mode running statistics) become inputs.
  for (const name of [...params, ...stateInputs]) {
    const t = g.initializers.get(name)!;
    g.initializers.delete(name);
    g.inputs.push({ name, dataType: t.dataType, shape: t.dims.map(Number) });
  }
  // Drop initializers nothing reads any more (running statistics in train mode).
  const read = new Set(g.nodes.flatMap((n) => nodeReads(n))); // If branches read outer values too
  for (const k of [...g.initializers.keys()]) if (!read.has(k)) g.initializers.delete(k);

  const facts: Map<string, ValueFacts> = early ?? (await probeWithBranches(model, { inputShapes: options.inputShapes }));
  const logitsShape = facts.get(logits)?.shape;
  if (!logitsShape || logitsShape.length !== 2 || logitsShape[1] !== classScores.numClasses) {
    throw new GibbonError(
      'invalid_model',
      `class scores '${logits}' should have shape (batch, ${classScores.numClasses}); found [${logitsShape?.join(', ') ?? '?'}]`,
    );
  }
  const numClasses = classScores.numClasses;
  const forwardNodes = g.nodes.slice();
  const head = emitTrainingHead(b, options.head, logits, numClasses);
  for (const i of head.inputs) g.inputs.push({ name: i.name, dataType: i.dataType, shape: i.shape });

  const wrt = [...(options.paramGrads === false ? [] : params), ...(options.inputGrad ? [input] : [])];
  if (wrt.length === 0) throw new GibbonError('invalid_option', 'nothing to differentiate: no parameters and no input gradient', { option: 'params' });
  const result = await differentiate(model, { builder: b, facts, forwardNodes, wrt, seeds: [{ value: logits, grad: head.cotangent }], dimName: () => 'batch' });
  const outputs: Graph['outputs'] = [];
  b.node('Identity', [head.loss], {}, { outputNames: [LOSS_OUTPUT] });
  outputs.push({ name: LOSS_OUTPUT, dataType: 1, shape: [] });
  if (logits !== LOGITS_OUTPUT) b.node('Identity', [logits], {}, { outputNames: [LOGITS_OUTPUT] });
  outputs.push({ name: LOGITS_OUTPUT, dataType: facts.get(logits)!.dataType, shape: ['batch', numClasses] });
  for (const bn of batchNorms) {
    for (const name of [bnMeanOutput(bn.node), bnVarOutput(bn.node)]) outputs.push({ name, dataType: 1, shape: null });
  }
  g.outputs = [...outputs, ...result.outputs];
  return {
    model,
    input,
    inputShape: facts.get(input)!.shape,
    numClasses,
    params,
    stateInputs,
    batchNorms,
    dropouts,
    nonDifferentiableNodes: result.nonDifferentiableNodes,
  };
}

/**
 * The data input of a model to train: its one float input, or (text models) its one int64 input
 * of token ids when it has no float input; the ids are not differentiated, the embedding table is.
 */
export function trainingInput(g: Graph): string {
  const dataInputs = g.inputs.filter((v) => isFloatType(v.dataType) && !g.initializers.has(v.name));
  const ids = g.inputs.filter((v) => v.dataType === DT.INT64 && !g.initializers.has(v.name));
  if (dataInputs.length === 0 && ids.length === 1) return ids[0]!.name;
  if (dataInputs.length !== 1) {
    throw new GibbonError(
      'invalid_model',
      `training needs a model with exactly one float input (or one int64 token-id input); found ${dataInputs.map((v) => v.name).join(', ') || 'none'}`,
    );
  }
  return dataInputs[0]!.name;
}

/**
 * Makes a canonical model output only its class scores (N, C), read as buildTrainingGraph reads
 * them: the logits behind a final Softmax or Sigmoid, one score s as the two-class logits (0, s).
 */
export async function outputClassScores(model: ModelIR, inputShapes?: TrainingGraphOptions['inputShapes']): Promise<void> {
  const head = await attachClassScores(model, { inputShapes });
  model.graph.outputs = [{ name: head.scores, dataType: 1, shape: [null, head.numClasses] }];
}

/** BatchNormalization with batch statistics, as PyTorch trains it: y = (x − μ_B)/√(σ²_B + ε)·γ + β. */
function rewriteBatchNorm(n: Node, b: GraphBuilder, facts: Map<string, ValueFacts>, out: BatchNormInfo[]): Node[] {
  const [x, scale, bias, mean, variance] = n.inputs as [string, string, string, string, string];
  const attrs = new Attributes(n);
  const eps = attrs.float('epsilon', 1e-5);
  const momentum = attrs.float('momentum', 0.9);
  if (n.outputs.slice(1).some((o) => o !== '')) {
    throw new GibbonError('unsupported_op', `BatchNormalization node '${n.name}' already outputs training statistics; export the model in eval mode`, {
      node: { name: n.name, opType: n.opType },
    });
  }
  const shape = facts.get(x)?.shape;
  if (!shape || shape.length < 2 || shape[1] === null)
    throw new GibbonError('invalid_model', `BatchNormalization node '${n.name}': input '${x}' needs a static channel dimension`, {
      node: { name: n.name, opType: n.opType },
    });
  const spatial = shape.slice(2);
  if (spatial.some((d) => d === null)) {
    throw new GibbonError('unsupported_op', `BatchNormalization node '${n.name}': training needs static spatial dimensions; found [${shape.join(', ')}]`, {
      node: { name: n.name, opType: n.opType },
    });
  }
  const channels = shape[1]!;
  const start = b.graph.nodes.length;
  const axes = b.int64s([0, ...spatial.map((_, i) => i + 2)]);
  const bcast = b.int64s([1, channels, ...spatial.map(() => 1)]);
  const mu = b.op('ReduceMean', [x, axes], { keepdims: 1 }, { name: `${n.name}/batch_mean` });
  const centred = b.op('Sub', [x, mu]);
  const varB = b.op('ReduceMean', [b.op('Mul', [centred, centred]), axes], { keepdims: 1 }, { name: `${n.name}/batch_var` });
  const normed = b.op('Div', [centred, b.op('Sqrt', [b.op('Add', [varB, b.scalar(eps)])])]);
  b.node('Add', [b.op('Mul', [normed, b.op('Reshape', [scale, bcast])]), b.op('Reshape', [bias, bcast])], {}, { outputNames: [n.outputs[0]!] });
  const flat = b.int64s([channels]);
  b.node('Reshape', [mu, flat], {}, { outputNames: [bnMeanOutput(n.name)] });
  b.node('Reshape', [varB, flat], {}, { outputNames: [bnVarOutput(n.name)] });
  out.push({ node: n.name, runningMean: mean, runningVar: variance, momentum, perExample: spatial.reduce<number>((a, d) => a * d!, 1) });
  return b.graph.nodes.splice(start);
}

/** Dropout in training mode: y = x · mask, the mask fed as an input. */
function rewriteDropout(n: Node, b: GraphBuilder, facts: Map<string, ValueFacts>, out: DropoutInfo[]): Node[] {
  const [x, ratioInput = ''] = n.inputs;
  if (n.outputs[1])
    throw new GibbonError('unsupported_op', `Dropout node '${n.name}': training with its mask output used is not supported`, {
      node: { name: n.name, opType: n.opType },
    });
  let ratio = 0.5;
  if (ratioInput !== '') {
    const c = facts.get(ratioInput)?.constant;
    if (!c)
      throw new GibbonError('unsupported_op', `Dropout node '${n.name}': its ratio '${ratioInput}' is not a constant`, {
        node: { name: n.name, opType: n.opType },
      });
    ratio = c[0]!;
  }
  const shape = facts.get(x!)!.shape;
  if (shape.slice(1).some((d) => d === null))
    throw new GibbonError('unsupported_op', `Dropout node '${n.name}': training needs static non-batch dimensions`, {
      node: { name: n.name, opType: n.opType },
    });
  const start = b.graph.nodes.length;
  if (ratio === 0) {
    b.node('Identity', [x!], {}, { outputNames: [n.outputs[0]!] });
  } else {
    const maskInput = dropoutMaskInput(n.name);
    b.node('Mul', [x!, maskInput], {}, { outputNames: [n.outputs[0]!] });
    out.push({ node: n.name, maskInput, ratio, shape });
  }
  return b.graph.nodes.splice(start);
}
