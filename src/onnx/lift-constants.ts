/**
 * Weights stored as Constant nodes (paddle2onnx, some TensorFlow and hand-built graphs) become
 * initializers, so that `--wrt params`, training and parameter counts see them as the parameters
 * they are. An initializer is as constant as a Constant node, so the model computes the same.
 *
 * Which constants are weights is read from how they are used, not from their size or name: a float
 * Constant (not a scalar) that some node reads at a parameter position (Conv's W and B, Gemm's and
 * MatMul's operands, normalisation scales and biases, PRelu's slope, an embedding table read by
 * Gather, recurrent weights), or that is added to, subtracted from or multiplied with the output of a
 * linear op (a bias or scale after MatMul or Conv). Other Constant nodes (Resize scales, shapes,
 * normalisation constants of the input) stay as they are: they describe the computation, not
 * parameters to train.
 */
import type { TensorProto } from 'onnx-buf';
import { Attributes } from './attributes.js';
import { isFloatType } from './dtypes.js';
import type { Graph, Node } from './graph.js';

/** Input positions at which an op reads parameters. */
const PARAMETER_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2, 3, 4],
  InstanceNormalization: [1, 2],
  LayerNormalization: [1, 2],
  GroupNormalization: [1, 2],
  PRelu: [1],
  Gather: [0],
  LSTM: [1, 2, 3],
  GRU: [1, 2, 3],
  RNN: [1, 2, 3],
};

/** Ops whose output a following bias or scale (Add, Sub, Mul) belongs to. */
const LINEAR_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
const BIAS_OPS = new Set(['Add', 'Sub', 'Mul']);

/** The Constant node's value as a tensor named after its output, if it is a float tensor of rank ≥ 1. */
function floatTensorValue(n: Node): TensorProto | undefined {
  const value = new Attributes(n).tensor('value');
  if (!value || !isFloatType(value.dataType) || value.dims.length === 0) return undefined;
  return { ...value, name: n.outputs[0]! };
}

/**
 * Returns the graph with weight-holding Constant nodes replaced by initializers of the same name
 * (the graph itself when there are none; subgraphs are left alone). Names of the lifted values, in
 * graph order, are in `lifted`.
 */
export function liftConstantWeights(g: Graph): { graph: Graph; lifted: string[] } {
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);
  const weights = new Set<string>();
  for (const n of g.nodes) {
    if (n.domain !== '') continue;
    const positions = PARAMETER_INPUTS[n.opType];
    if (positions) for (const i of positions) if (n.inputs[i]) weights.add(n.inputs[i]!);
    if (BIAS_OPS.has(n.opType) && n.inputs.length === 2) {
      const [a, b] = n.inputs as [string, string];
      const after = (v: string): boolean => {
        const p = producers.get(v);
        return p !== undefined && p.domain === '' && LINEAR_OPS.has(p.opType);
      };
      if (after(a)) weights.add(b);
      if (after(b)) weights.add(a);
    }
  }
  const lifted: string[] = [];
  const initializers = new Map(g.initializers);
  const nodes = g.nodes.filter((n) => {
    if (n.opType !== 'Constant' || n.domain !== '' || n.outputs.length !== 1) return true;
    const name = n.outputs[0]!;
    if (!weights.has(name) || initializers.has(name)) return true;
    const tensor = floatTensorValue(n);
    if (!tensor) return true;
    initializers.set(name, tensor);
    lifted.push(name);
    return false;
  });
  if (lifted.length === 0) return { graph: g, lifted };
  return { graph: { ...g, nodes, initializers }, lifted };
}
