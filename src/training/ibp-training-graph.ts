/**
 * buildIbpTrainingGraph: one IBP training step (Gowal et al. 2018, "On the effectiveness of
 * interval bound propagation for training verifiably robust models", arXiv:1810.12715) as a single
 * onnxruntime run. The classifier's bound graph (certify/ibp/interval-graph.ts) is built with the
 * parameters as inputs, so the interval bounds are functions of the weights that gibbon's autodiff
 * differentiates like any ONNX graph (Abs, MatMul, Conv, Relu, MaxPool …); the final layer is
 * elided into the margins in the graph, as the paper trains. The IBP head (heads.ts) mixes the
 * clean cross-entropy and the cross-entropy of the worst-case logits with weight κ.
 *
 * The graph runs on 2N rows: the first N with x_lower = x_upper = x (the bounds are then the
 * clean logits), the last N with the ε-boxes. Inputs: `x_lower`, `x_upper`, `labels` (2N),
 * `ibp_kappa` and the parameters. Outputs: `loss`, `logits` (the clean N rows) and `grad:<name>`.
 */
import { differentiate } from '../autodiff/differentiate.js';
import { probeValues } from '../autodiff/probe.js';
import { buildIntervalGraph, IBP_LABELS_INPUT, LOGITS_LOWER_OUTPUT, MARGIN_LOWER_OUTPUT, X_LOWER_INPUT, X_UPPER_INPUT } from '../certify/ibp/interval-graph.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { emitIbpHead, HEAD_KAPPA } from './heads.js';
import { LOGITS_OUTPUT, LOSS_OUTPUT } from './training-graph.js';

export { HEAD_KAPPA, IBP_LABELS_INPUT, X_LOWER_INPUT, X_UPPER_INPUT };

export interface IbpTrainingGraph {
  readonly model: ModelIR;
  readonly params: readonly string[];
  readonly numClasses: number;
  /** Whether the margins fold the final affine layer. */
  readonly elided: boolean;
}

export async function buildIbpTrainingGraph(
  source: ModelIR,
  options: { params: readonly string[]; inputShapes?: Record<string, readonly (number | null)[]> },
): Promise<IbpTrainingGraph> {
  const bound = await buildIntervalGraph(source, { paramInputs: options.params, inputShapes: options.inputShapes });
  const model = bound.model;
  const g = model.graph;
  const facts = await probeValues(model, { labelInputs: [IBP_LABELS_INPUT] });
  const b = new GraphBuilder(g, 'ibp_train');
  const forwardNodes = g.nodes.slice();
  const head = emitIbpHead(b, LOGITS_LOWER_OUTPUT, MARGIN_LOWER_OUTPUT, IBP_LABELS_INPUT, bound.numClasses);
  g.inputs.push({ name: HEAD_KAPPA, dataType: DT.FLOAT, shape: [] });
  const result = await differentiate(model, {
    builder: b,
    facts,
    forwardNodes,
    wrt: options.params,
    seeds: [
      { value: LOGITS_LOWER_OUTPUT, grad: head.cotangents.logitsLower },
      { value: MARGIN_LOWER_OUTPUT, grad: head.cotangents.marginLower },
    ],
    dimName: () => 'batch',
  });
  const outputs: Graph['outputs'] = [];
  b.node('Identity', [head.loss], {}, { outputNames: [LOSS_OUTPUT] });
  outputs.push({ name: LOSS_OUTPUT, dataType: DT.FLOAT, shape: [] });
  b.node('Identity', [head.clean], {}, { outputNames: [LOGITS_OUTPUT] });
  outputs.push({ name: LOGITS_OUTPUT, dataType: DT.FLOAT, shape: ['batch', bound.numClasses] });
  g.outputs = [...outputs, ...result.outputs];
  return { model, params: options.params, numClasses: bound.numClasses, elided: bound.elided };
}
