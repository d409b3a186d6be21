/**
 * buildVjpGraph: the general vector-Jacobian product of a graph. For outputs Y_k and cotangents
 * c_k (fed as inputs `cotangent:<Y_k>`), the new model outputs Y_k and, for each value w in
 * `wrt`, `grad:<w>` = Σ_k c_k · ∂Y_k/∂w. buildGradientGraph is the classifier-with-a-loss special
 * case; this one is used to check rules against finite differences and for custom objectives.
 */
import { GibbonError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { canonicalize } from '../onnx/canonicalize.js';
import type { ModelIR } from '../onnx/model.js';
import type { NonDifferentiablePolicy } from './backprop.js';
import { probeWithBranches } from './branch-probe.js';
import { differentiate } from './differentiate.js';
import type { VjpRegistry } from './registry.js';
import { unrollRecurrent } from './unroll-recurrent.js';

export const cotangentInputName = (output: string): string => `cotangent:${output}`;

/** The name of dynamic axis i in the declared shapes of cotangents and gradients. */
const dynamicDim = (axis: number): string => `d${axis}`;

export interface VjpGraphOptions {
  wrt: readonly string[];
  /** Outputs to differentiate (default: all graph outputs). */
  outputs?: readonly string[];
  nonDifferentiable?: NonDifferentiablePolicy;
  inputShapes?: Record<string, readonly (number | null)[]>;
  registry?: VjpRegistry;
}

export interface VjpGraph {
  readonly model: ModelIR;
  readonly cotangentInputs: ReadonlyMap<string, string>;
  readonly gradOutputs: ReadonlyMap<string, string>;
  readonly nonDifferentiableNodes: readonly { name: string; opType: string }[];
  readonly straightThroughNodes: readonly { name: string; opType: string }[];
}

export async function buildVjpGraph(source: ModelIR, options: VjpGraphOptions): Promise<VjpGraph> {
  const model = canonicalize(source);
  const g = model.graph;
  const outs = options.outputs ?? g.outputs.map((o) => o.name);
  for (const o of outs) {
    if (!g.outputs.some((x) => x.name === o)) throw new GibbonError('invalid_option', `model has no output '${o}'`, { option: 'outputs' });
  }
  await unrollRecurrent(model, { inputShapes: options.inputShapes }); // LSTM/GRU/RNN → standard ops, for backprop
  const facts = await probeWithBranches(model, { inputShapes: options.inputShapes });
  const b = new GraphBuilder(g, 'vjp');
  const cotangentInputs = new Map<string, string>();
  const seeds = outs.map((o) => {
    const f = facts.get(o)!;
    const name = cotangentInputName(o);
    g.inputs.push({ name, dataType: f.dataType, shape: f.shape.map((d, i) => d ?? dynamicDim(i)) });
    cotangentInputs.set(o, name);
    return { value: o, grad: name };
  });
  const result = await differentiate(model, {
    builder: b,
    facts,
    registry: options.registry,
    wrt: options.wrt,
    seeds,
    nonDifferentiable: options.nonDifferentiable,
    dimName: dynamicDim,
  });
  g.outputs.push(...result.outputs);
  const { gradOutputs, nonDifferentiableNodes, straightThroughNodes } = result;
  return { model, cotangentInputs, gradOutputs, nonDifferentiableNodes, straightThroughNodes };
}
