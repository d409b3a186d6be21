/**
 * Which graph value holds the "penultimate-layer features" a Mahalanobis detector is fitted on.
 * By default: the data input of the last affine layer, i.e. of the Gemm or MatMul (possibly
 * followed by an Add of the bias, or Identity/Flatten wrappers) that produces the class scores;
 * when that input is a Relu's output, the Relu's input (the pre-activation) is taken instead.
 * Post-ReLU features are sparse, with many exact zeros, and fit the Gaussian model badly: on
 * models/mnist-standard.onnx, MNIST versus Fashion-MNIST AUROC was 0.91 on the post-ReLU and
 * 0.98 on the pre-activation features (docs/detection.md).
 * The `features` option (the CLI's --features) names a node (its first output is taken) or a value directly.
 */
import { GibbonError } from '../../errors.js';
import { producers, type Graph } from '../../onnx/graph.js';

export interface FeatureChoice {
  /** The value whose activations are the features. */
  readonly value: string;
  /** How it was chosen, for reports. */
  readonly how: string;
}

const PASS_THROUGH = new Set(['Identity', 'Flatten', 'Reshape']);

/** Finds the features value: the named node or value, or the input of the last affine layer. */
export function chooseFeatures(g: Graph, logits: string, requested: string | undefined, where: string, path?: string): FeatureChoice {
  if (requested !== undefined) {
    const node = g.nodes.find((n) => n.name === requested);
    if (node) return { value: node.outputs[0]!, how: `output of node '${requested}' (${node.opType})` };
    if (g.nodes.some((n) => n.outputs.includes(requested)) || g.inputs.some((v) => v.name === requested))
      return { value: requested, how: `value '${requested}'` };
    const affine = g.nodes.filter((n) => n.opType === 'Gemm' || n.opType === 'MatMul' || n.opType === 'Relu').slice(-4);
    const hint = affine.length > 0 ? `; e.g. ${affine.map((n) => `'${n.name}'`).join(', ')} (gibbon info lists the model's nodes)` : '';
    throw new GibbonError('invalid_option', `features node '${requested}' not found in ${where}: no node or value has that name${hint}`, {
      path,
      option: 'features',
    });
  }
  const prod = producers(g);
  const preActivation = (value: string, how: string): FeatureChoice => {
    const p = prod.get(value);
    return p?.opType === 'Relu' ? { value: p.inputs[0]!, how: `${how}, before its Relu '${p.name}' (automatic)` } : { value, how: `${how} (automatic)` };
  };
  let v = logits;
  for (let steps = 0; steps < 8; steps++) {
    const p = prod.get(v);
    if (!p) break;
    if (p.opType === 'Gemm' || p.opType === 'MatMul') return preActivation(p.inputs[0]!, `input of the last ${p.opType} '${p.name}'`);
    if (p.opType === 'Add') {
      const mm = p.inputs.map((i) => prod.get(i)).find((q) => q && (q.opType === 'MatMul' || q.opType === 'Gemm'));
      if (mm) return preActivation(mm.inputs[0]!, `input of the last ${mm.opType} '${mm.name}'`);
    }
    if (!PASS_THROUGH.has(p.opType)) break;
    v = p.inputs[0]!;
  }
  const last = prod.get(logits);
  throw new GibbonError(
    'invalid_model',
    `cannot find the penultimate-layer features of ${where} automatically: the class scores '${logits}' come from ${last ? `a ${last.opType} node '${last.name}'` : 'no node'}, not from a Gemm or MatMul; name the features with option features NODE`,
    { path, option: 'features', node: last ? { name: last.name, opType: last.opType } : undefined },
  );
}
