/**
 * The gradient graph of a text model with respect to its embedding output: autodiff's entry point
 * (`differentiate`) seeded by the per-example cross-entropy, differentiated with respect to an
 * intermediate value (the embedding Gather's output) instead of a graph input, since token ids
 * have no gradient. Outputs: `logits` (N, C) and `grad:<embedding output>` (N, L, D), row i the
 * gradient of example i's own loss (the seed is 1 for every example).
 */
import { GibbonError } from '../errors.js';
import { differentiate } from '../autodiff/differentiate.js';
import { attachClassScores, checkRuleSupport, DEFAULT_VJP_REGISTRY } from '../autodiff/gradient-graph.js';
import { emitLossHead } from '../autodiff/loss-heads.js';
import { probeWithBranches } from '../autodiff/branch-probe.js';
import { GraphBuilder } from '../onnx/builder.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { DataType as DT } from '../onnx/dtypes.js';
import { ancestorsOf } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { renameValue } from '../onnx/rename.js';

export const TEXT_LABELS_INPUT = 'labels';
export const TEXT_LOGITS_OUTPUT = 'logits';

export interface EmbeddingGradientGraph {
  readonly model: ModelIR;
  readonly numClasses: number;
  /** The output holding d loss / d embedding output. */
  readonly gradOutput: string;
}

export async function buildEmbeddingGradientGraph(
  source: ModelIR,
  o: { input: string; embeddingOutput: string; inputShapes?: Record<string, readonly (number | null)[]> },
): Promise<EmbeddingGradientGraph> {
  const model = canonicalize(source);
  const g = model.graph;
  if (g.inputs.some((v) => v.name === TEXT_LABELS_INPUT))
    throw new GibbonError('invalid_model', `model already has an input named '${TEXT_LABELS_INPUT}', which gibbon reserves`);
  const head = await attachClassScores(model, { inputShapes: o.inputShapes });
  for (const reserved of [TEXT_LOGITS_OUTPUT, 'loss']) if (reserved !== head.scores) renameValue(g, reserved, `${reserved}__model`);
  const b = new GraphBuilder(g, 'gibbon_text');
  g.inputs.push({ name: TEXT_LABELS_INPUT, dataType: DT.INT64, shape: [null] });
  const loss = emitLossHead(b, 'ce', { logits: head.scores, labels: TEXT_LABELS_INPUT, numClasses: head.numClasses });
  const keep = ancestorsOf(g, [loss, head.scores]);
  g.nodes = g.nodes.filter((n) => n.outputs.some((v) => keep.has(v)));
  g.outputs = [];
  checkRuleSupport(g, [o.embeddingOutput], DEFAULT_VJP_REGISTRY, model.opset);
  const facts = await probeWithBranches(model, { inputShapes: o.inputShapes, labelInputs: [TEXT_LABELS_INPUT] });
  const ones = b.op('Where', [b.constant(DT.BOOL, [], Uint8Array.of(1), 'true'), b.scalar(1, facts.get(loss)!.dataType), loss], {}, { name: 'seed' });
  const result = await differentiate(model, { builder: b, facts, wrt: [o.embeddingOutput], seeds: [{ value: loss, grad: ones }] });
  if (head.scores !== TEXT_LOGITS_OUTPUT) b.node('Identity', [head.scores], {}, { outputNames: [TEXT_LOGITS_OUTPUT] });
  g.outputs = [{ name: TEXT_LOGITS_OUTPUT, dataType: DT.FLOAT, shape: [null, head.numClasses] }, ...result.outputs];
  const gradOutput = result.gradOutputs.get(o.embeddingOutput);
  if (!gradOutput) throw new GibbonError('invalid_model', `the loss does not depend on the embedding output '${o.embeddingOutput}'`);
  return { model, numClasses: head.numClasses, gradOutput };
}
