/**
 * A detector of adversarial or out-of-distribution inputs is a score s(x), higher = more
 * suspicious, written as an ONNX fragment appended to the classifier's graph. The result, the
 * "detector-equipped model", is one ONNX model with two outputs, `logits` (N, C) and `score` (N):
 * it runs in any ONNX runtime, and gibbon's autodiff differentiates it like any classifier, which
 * is what makes the adaptive attack (adaptive-attack.ts) exact for every detector.
 *
 * The fitted parameters of a detector are plain data (`DetectorParams`), stored in detector.json
 * (detector-file.ts) and turned into graph nodes by `emitDetectorScore`.
 */
import { GibbonError } from '../../errors.js';
import { emitBinaryLogits } from '../../autodiff/gradient-graph.js';
import { findLogits } from '../../onnx/logits.js';
import { renameValue } from '../../onnx/rename.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { canonicalize } from '../../onnx/canonicalize.js';
import { isFloatType } from '../../onnx/dtypes.js';
import { ancestorsOf, type Graph } from '../../onnx/graph.js';
import type { ModelIR } from '../../onnx/model.js';
import { SINGLE_DETECTORS } from './index.js';
import { DETECTOR_KINDS, type DetectorParams, type ScoreContext, type SingleDetectorParams } from './score-context.js';

export {
  DETECTOR_KINDS,
  type CombinedParams,
  type CombinedPart,
  type DetectorKind,
  type DetectorParams,
  type EnergyParams,
  type MahalanobisParams,
  type MspParams,
  type ScoreContext,
  type SingleDetectorParams,
  type SqueezeParams,
} from './score-context.js';

export const LOGITS_OUTPUT = 'logits';
export const SCORE_OUTPUT = 'score';

/** Emits the detector's score (N) into the graph; returns its value name. */
export function emitDetectorScore(ctx: ScoreContext, params: DetectorParams): string {
  switch (params.kind) {
    case 'combined': {
      const b = ctx.b;
      const parts = params.parts.map((p, k) => {
        const s = emitSingleScore(ctx, p.detector);
        const z = b.op(
          'Div',
          [b.op('Sub', [s, b.scalar(p.mean)], {}, { name: `combined/center${k}` }), b.scalar(p.std)],
          {},
          { name: `combined/standardise${k}` },
        );
        return b.op('Unsqueeze', [z, b.int64s([1])], {}, { name: `combined/part${k}` });
      });
      if (parts.length === 1) return b.op('Squeeze', [parts[0]!, b.int64s([1])], {}, { name: 'combined/score' });
      return b.op('ReduceMax', [b.op('Concat', parts, { axis: 1 }, { name: 'combined/parts' }), b.int64s([1])], { keepdims: 0 }, { name: 'combined/score' });
    }
    default:
      return emitSingleScore(ctx, params);
  }
}

function emitSingleScore(ctx: ScoreContext, params: SingleDetectorParams): string {
  const detector = SINGLE_DETECTORS.find((d) => d.kind === params.kind);
  if (!detector) {
    throw new GibbonError('invalid_option', `unknown detector kind '${String((params as { kind: unknown }).kind)}'; valid: ${DETECTOR_KINDS.join(', ')}`, {
      option: 'detector',
    });
  }
  return detector.emitScore(ctx, params);
}

export interface PreparedClassifier {
  readonly model: ModelIR;
  readonly builder: GraphBuilder;
  readonly ctx: ScoreContext;
}

/**
 * The classifier canonicalised, with its class scores found and named `logits`, ready for score
 * fragments to be appended. Outputs are cleared; the caller declares them.
 */
export function prepareClassifier(source: ModelIR): PreparedClassifier {
  const where = source.path ?? 'model';
  const model = canonicalize(source);
  const g = model.graph;
  const input = g.inputs.find((v) => isFloatType(v.dataType));
  if (!input) throw new GibbonError('invalid_model', `${where} has no float input`, { path: source.path });
  const found = findLogits(g);
  // One score (a sigmoid detector) reads as the two-class logits (0, s).
  const single = g.outputs.find((o) => o.name === found.output)?.shape?.[1] === 1;
  const numClasses = single ? 2 : classCount(g, found.output, where);
  // The names of the new outputs are reserved: a model value that has one is renamed.
  let scores = found.logits;
  for (const reserved of [LOGITS_OUTPUT, SCORE_OUTPUT]) {
    if (reserved === found.logits) continue;
    renameValue(g, reserved, `${reserved}__model`);
    if (scores === reserved) scores = `${reserved}__model`;
  }
  const b = new GraphBuilder(g, 'detector');
  const logits = single ? emitBinaryLogits(b, scores) : scores;
  const forwardNodes = [...g.nodes];
  const inputShape = (input.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : null));
  const ctx: ScoreContext = {
    b,
    graph: g,
    input: input.name,
    inputShape,
    logits,
    numClasses,
    where,
    path: source.path,
    classifierOn: (x, hint) => copyClassifier(b, forwardNodes, input.name, x, logits, hint),
  };
  g.outputs = [];
  return { model, builder: b, ctx };
}

function classCount(g: Graph, output: string, where: string): number {
  const shape = g.outputs.find((o) => o.name === output)?.shape;
  const c = shape?.length === 2 ? shape[1] : undefined;
  if (typeof c !== 'number' || c < 2) {
    throw new GibbonError('invalid_model', `${where}: output '${output}' should have a static shape (batch, classes); found [${shape?.join(', ') ?? '?'}]`);
  }
  return c;
}

/**
 * Copies the nodes that lead from `input` to `logits`, fed with `x` instead of the input; nodes
 * that do not depend on the input (shape arithmetic on constants) are shared. Returns the copy's logits.
 */
function copyClassifier(b: GraphBuilder, nodes: readonly Graph['nodes'][number][], input: string, x: string, logits: string, hint: string): string {
  const keep = ancestorsOf({ ...b.graph, nodes: [...nodes] }, [logits]);
  const renamed = new Map<string, string>([[input, x]]);
  for (const n of nodes) {
    if (!n.outputs.some((o) => keep.has(o))) continue;
    if (!n.inputs.some((i) => renamed.has(i))) continue;
    const outputs = n.outputs.map((o) => (o === '' ? '' : b.fresh(`${hint}/${o}`)));
    n.outputs.forEach((o, i) => o !== '' && renamed.set(o, outputs[i]!));
    b.graph.nodes.push({
      name: b.fresh(`${hint}/${n.name}`),
      opType: n.opType,
      domain: n.domain,
      inputs: n.inputs.map((i) => renamed.get(i) ?? i),
      outputs,
      attributes: n.attributes,
    });
  }
  const copy = renamed.get(logits);
  if (!copy) throw new GibbonError('internal', `the class scores '${logits}' do not depend on the input '${input}'`);
  return copy;
}

/**
 * The detector-equipped model: the classifier plus the detector's score, with outputs `logits`
 * (N, C) and `score` (N), and optionally more values exposed as outputs (e.g. the features a
 * Mahalanobis detector is fitted on).
 */
export function buildDetectorModel(classifier: ModelIR, params: DetectorParams | undefined, extraOutputs: readonly string[] = []): ModelIR {
  const { model, builder: b, ctx } = prepareClassifier(classifier);
  const g = model.graph;
  if (ctx.logits !== LOGITS_OUTPUT) b.node('Identity', [ctx.logits], {}, { outputNames: [LOGITS_OUTPUT] });
  g.outputs.push({ name: LOGITS_OUTPUT, dataType: 0, shape: null });
  if (params) {
    const score = emitDetectorScore(ctx, params);
    b.node('Identity', [score], {}, { outputNames: [SCORE_OUTPUT] });
    g.outputs.push({ name: SCORE_OUTPUT, dataType: 0, shape: null });
  }
  for (const v of extraOutputs) if (!g.outputs.some((o) => o.name === v)) g.outputs.push({ name: v, dataType: 0, shape: null });
  return { proto: model.proto, graph: g, opset: model.opset };
}
