/**
 * buildCtcGradientGraph: from a sequence recogniser (per-frame class scores, CTC-decoded), a new
 * ONNX model that computes in one onnxruntime run the per-example CTC loss, its sum, the model's
 * scores and the gradient of the summed loss with respect to the input. The counterpart of
 * buildGradientGraph (gradient-graph.ts) for sequence outputs; it shares its pieces (canonical
 * form, probing, backprop, output naming) and appends the CTC head (ctc-head.ts) instead of a
 * classifier head.
 *
 * Inputs of the gradient model: the recogniser's input, `ctc_targets` (int64, N × S, padded) and
 * `ctc_target_lengths` (int64, N). Outputs: `loss` (N), `loss_sum` (), `logits` (the scores as the
 * model lays them out, before any final Softmax) and `grad:<input>`.
 *
 * Losses, oriented like every gibbon head so that attacks ascend:
 *   ctc           +CTC(x, y)   y = the clean transcription: ascending changes the string
 *   ctc-targeted  −CTC(x, t)   t = the string to force
 */
import { GibbonError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { DataType as DT, isFloatType } from '../onnx/dtypes.js';
import { ancestorsOf } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import type { NonDifferentiablePolicy } from './backprop.js';
import { differentiate } from './differentiate.js';
import { emitCtcLoss, SEQUENCE_LAYOUTS, type SequenceLayout } from './ctc-head.js';
import { emitLossOutputs, LOGITS_OUTPUT, LOSS_OUTPUT, LOSS_SUM_OUTPUT } from './gradient-graph.js';
import { findLogits, type LogitsSource } from '../onnx/logits.js';
import { renameValue } from '../onnx/rename.js';
import { probeValues, type ValueFacts } from './probe.js';
import type { VjpRegistry } from './registry.js';

export const CTC_TARGETS_INPUT = 'ctc_targets';
export const CTC_TARGET_LENGTHS_INPUT = 'ctc_target_lengths';
export const CTC_LOSS_NAMES = ['ctc', 'ctc-targeted'] as const;
export type CtcLossName = (typeof CTC_LOSS_NAMES)[number];

export interface SequenceFacts {
  /** The recogniser's float input. */
  readonly input: string;
  readonly inputShape: readonly (number | null)[];
  /** The value holding the per-frame scores (a final Softmax's input when the model ends in one). */
  readonly scores: string;
  readonly scoresSource: LogitsSource;
  readonly layout: SequenceLayout;
  /** T. */
  readonly frames: number;
  /** C, blank included. */
  readonly classes: number;
}

export interface SequenceGraphOptions {
  /** Which output holds the per-frame scores (default: the first). */
  readonly output?: string;
  /** 'TNC' or 'NTC'; found from which axis follows the batch size when omitted. */
  readonly layout?: SequenceLayout;
  /** Sizes for symbolic non-batch input dimensions (e.g. the width of a dynamic-width recogniser). */
  readonly inputShapes?: Record<string, readonly (number | null)[]>;
}

export interface CtcGradientGraphOptions extends SequenceGraphOptions {
  readonly loss: CtcLossName;
  /** Blank class (default 0). */
  readonly blank?: number;
  /** S: targets are fed padded to this length (≥ 1). */
  readonly maxTargetLength: number;
  readonly nonDifferentiable?: NonDifferentiablePolicy;
  readonly registry?: VjpRegistry;
}

export interface CtcGradientGraph extends SequenceFacts {
  readonly model: ModelIR;
  readonly loss: CtcLossName;
  readonly blank: number;
  readonly maxTargetLength: number;
  readonly gradOutput: string;
  readonly nonDifferentiableNodes: readonly { name: string; opType: string }[];
}

/**
 * Finds a canonical recogniser's input, scores value, layout, T and C, by probing it at two batch
 * sizes (the axis that follows the batch size is N). Throws when the output is not 3-D or the
 * layout cannot be told (a fixed batch with no `layout` given).
 */
export function sequenceFacts(model: ModelIR, facts: Map<string, ValueFacts>, options: SequenceGraphOptions = {}): SequenceFacts {
  const g = model.graph;
  const where = model.path ?? 'model';
  const dataInputs = g.inputs.filter((v) => isFloatType(v.dataType));
  if (dataInputs.length === 0) throw new GibbonError('invalid_model', `${where} has no float input to differentiate`, { path: model.path });
  if (g.inputs.length > 1) {
    throw new GibbonError('invalid_model', `${where} has several inputs (${g.inputs.map((v) => v.name).join(', ')}); sequence models take one image input`, {
      path: model.path,
    });
  }
  const input = dataInputs[0]!.name;
  if (options.layout !== undefined && !SEQUENCE_LAYOUTS.includes(options.layout)) {
    throw new GibbonError('invalid_option', `layout '${String(options.layout)}' is not one of ${SEQUENCE_LAYOUTS.join(', ')}`, { option: 'layout' });
  }
  const found = findLogits(g, options.output);
  const shape = facts.get(found.logits)?.shape;
  if (!shape || shape.length !== 3) {
    throw new GibbonError(
      'invalid_model',
      `output '${found.output}' has shape [${shape?.map((d) => d ?? 'N').join(', ') ?? '?'}]; a sequence recogniser outputs (T, N, C) or (N, T, C)`,
      {
        path: model.path,
      },
    );
  }
  let layout = options.layout;
  const batchAxis = shape[0] === null && shape[1] !== null ? 0 : shape[1] === null && shape[0] !== null ? 1 : undefined;
  const detected: SequenceLayout | undefined = batchAxis === 0 ? 'NTC' : batchAxis === 1 ? 'TNC' : undefined;
  if (layout === undefined) {
    if (!detected) {
      throw new GibbonError(
        'invalid_option',
        `cannot tell which axis of output '${found.output}' [${shape.map((d) => d ?? '?').join(', ')}] is the batch; pass layout 'TNC' or 'NTC'`,
        {
          option: 'layout',
        },
      );
    }
    layout = detected;
  } else if (detected && detected !== layout) {
    throw new GibbonError(
      'invalid_option',
      `layout '${layout}' was given, but output '${found.output}' changes size with the batch on axis ${batchAxis} (layout '${detected}')`,
      {
        option: 'layout',
      },
    );
  }
  const frames = layout === 'TNC' ? shape[0] : shape[1];
  const classes = shape[2];
  if (typeof frames !== 'number' || typeof classes !== 'number') {
    throw new GibbonError('invalid_model', `output '${found.output}' has no fixed number of frames and classes [${shape.map((d) => d ?? '?').join(', ')}]`, {
      path: model.path,
    });
  }
  const inputShape = facts.get(input)?.shape ?? [];
  return { input, inputShape, scores: found.logits, scoresSource: found.source, layout, frames, classes };
}

export async function buildCtcGradientGraph(source: ModelIR, options: CtcGradientGraphOptions): Promise<CtcGradientGraph> {
  if (!CTC_LOSS_NAMES.includes(options.loss)) {
    throw new GibbonError('invalid_option', `unknown sequence loss '${String(options.loss)}'; valid: ${CTC_LOSS_NAMES.join(', ')}`, { option: 'loss' });
  }
  const blank = options.blank ?? 0;
  const S = options.maxTargetLength;
  const model = canonicalize(source);
  const g = model.graph;
  for (const name of [CTC_TARGETS_INPUT, CTC_TARGET_LENGTHS_INPUT]) {
    if (g.inputs.some((v) => v.name === name)) throw new GibbonError('invalid_model', `model already has an input named '${name}', which gibbon reserves`);
  }
  const probeOptions = { inputShapes: options.inputShapes, labelInputs: [CTC_TARGETS_INPUT, CTC_TARGET_LENGTHS_INPUT] };
  const seq = sequenceFacts(model, await probeValues(model, { inputShapes: options.inputShapes }), options);
  for (const reserved of [LOSS_OUTPUT, LOSS_SUM_OUTPUT, LOGITS_OUTPUT]) {
    if (reserved !== seq.scores) renameValue(g, reserved, `${reserved}__model`);
  }
  const scores = seq.scores;
  const b = new GraphBuilder(g, 'gibbon');
  // A fixed-batch model gets targets of that batch (the probe feeds them at its batch sizes).
  const declaredBatch = g.inputs.find((v) => v.name === seq.input)?.shape?.[0];
  const batch = typeof declaredBatch === 'number' && declaredBatch > 0 ? declaredBatch : null;
  g.inputs.push({ name: CTC_TARGETS_INPUT, dataType: DT.INT64, shape: [batch, S] });
  g.inputs.push({ name: CTC_TARGET_LENGTHS_INPUT, dataType: DT.INT64, shape: [batch] });
  const nll = emitCtcLoss(b, {
    scores,
    layout: seq.layout,
    frames: seq.frames,
    classes: seq.classes,
    blank,
    targets: CTC_TARGETS_INPUT,
    targetLengths: CTC_TARGET_LENGTHS_INPUT,
    maxTargetLength: S,
  });
  const lossValue = options.loss === 'ctc' ? nll : b.op('Neg', [nll], {}, { name: 'ctc/targeted' });

  const keep = ancestorsOf(g, [lossValue, scores]);
  g.nodes = g.nodes.filter((n) => n.outputs.some((o) => keep.has(o)));
  g.outputs = [];
  const facts = await probeValues(model, probeOptions);
  const lossType = facts.get(lossValue)!.dataType;
  const seed = b.op('Expand', [b.scalar(1, lossType), b.op('Shape', [lossValue])], {}, { name: 'seed' });
  const result = await differentiate(model, {
    builder: b,
    facts,
    registry: options.registry,
    wrt: [seq.input],
    seeds: [{ value: lossValue, grad: seed }],
    nonDifferentiable: options.nonDifferentiable,
  });

  const scoresShape = seq.layout === 'TNC' ? [seq.frames, null, seq.classes] : [null, seq.frames, seq.classes];
  g.outputs = [...emitLossOutputs(b, lossValue, lossType, { value: scores, dataType: facts.get(scores)!.dataType, shape: scoresShape }), ...result.outputs];
  return {
    ...seq,
    inputShape: facts.get(seq.input)!.shape,
    model,
    loss: options.loss,
    blank,
    maxTargetLength: S,
    gradOutput: result.gradOutputs.get(seq.input)!,
    nonDifferentiableNodes: result.nonDifferentiableNodes,
  };
}
