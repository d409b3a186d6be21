/**
 * Test utility: checks a gradient rule against central finite differences through onnxruntime.
 * Builds a one-node model from the spec and hands it to checkModelGradient, which differentiates
 * L = Σ_k ⟨c_k, Y_k⟩ for random cotangents c_k and compares each analytic gradient entry with
 * (L(x+h) − L(x−h)) / 2h.
 */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import type { AttrValue } from '../../onnx/attributes.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import type { ModelIR } from '../../onnx/model.js';
import { checkModelGradient, type ModelGradCheckResult } from './model-gradcheck.js';
import type { AnyTensor } from '../../tensor/tensor.js';
import type { VjpRegistry } from '../registry.js';

export interface GradCheckInput {
  shape: readonly number[];
  /** Explicit values; default random uniform in [low, high). */
  data?: readonly number[];
  /** 'int64' inputs are constants (axes, indices …); 'bool' too. Default: the check's float type. */
  type?: 'float' | 'int64' | 'bool';
  /** Feed as an initializer rather than a graph input (never differentiated). */
  constant?: boolean;
  /** Differentiate with respect to it (default: float inputs that are not constant). */
  grad?: boolean;
  low?: number;
  high?: number;
  /** Omitted optional input (''). */
  omitted?: boolean;
}

export interface GradCheckSpec {
  opType: string;
  attrs?: Record<string, AttrValue>;
  domain?: string;
  inputs: readonly GradCheckInput[];
  /** Number of node outputs (default 1). */
  outputs?: number;
  /** Which outputs get a cotangent (default all float outputs). */
  differentiateOutputs?: readonly number[];
  opset?: number;
  /** float64 (default, precise) or float32 (for kernels onnxruntime has only in float). */
  precision?: 'float64' | 'float32';
  /** Finite-difference step (default 1e-4 in float64, 1e-2 in float32). */
  step?: number;
  /** |analytic − numeric| ≤ atol + rtol·|numeric| (defaults: 1e-6/1e-4 float64, 2e-3/2e-2 float32). */
  atol?: number;
  rtol?: number;
  /** Check at most this many entries per input (random sample; default 60). */
  maxEntries?: number;
  seed?: number;
  /** Extra graph nodes added after the op, e.g. to square its output. Rarely needed. */
  decorate?: (b: GraphBuilder, outputs: string[]) => string[];
  /** Rules to differentiate with (default: every rule gibbon ships); lets a test plant a wrong rule. */
  registry?: VjpRegistry;
}

export type GradCheckResult = ModelGradCheckResult;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export async function gradCheck(spec: GradCheckSpec): Promise<GradCheckResult> {
  const precision = spec.precision ?? 'float64';
  const floatType = precision === 'float64' ? DT.DOUBLE : DT.FLOAT;
  const random = rng(spec.seed ?? 1234);
  const graph: Graph = { name: 'gradcheck', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  const b = new GraphBuilder(graph, 'gc');
  const feeds: Record<string, AnyTensor> = {};
  const wrt: string[] = [];
  const nodeInputs: string[] = [];
  spec.inputs.forEach((inp, i) => {
    if (inp.omitted) {
      nodeInputs.push('');
      return;
    }
    const n = inp.shape.reduce((a, c) => a * c, 1);
    const low = inp.low ?? -1;
    const high = inp.high ?? 1;
    const data = inp.data ? [...inp.data] : Array.from({ length: n }, () => low + (high - low) * random());
    const name = `in${i}`;
    const type = inp.type ?? 'float';
    if (type === 'int64' || type === 'bool' || inp.constant) {
      const dt = type === 'int64' ? DT.INT64 : type === 'bool' ? DT.BOOL : floatType;
      const arr =
        type === 'int64'
          ? BigInt64Array.from(data, (v) => BigInt(v))
          : type === 'bool'
            ? Uint8Array.from(data)
            : precision === 'float64'
              ? Float64Array.from(data)
              : Float32Array.from(data);
      const cname = b.constant(dt, inp.shape, arr, name);
      nodeInputs.push(cname);
      return;
    }
    graph.inputs.push({ name, dataType: floatType, shape: [...inp.shape] });
    nodeInputs.push(name);
    feeds[name] = { type: precision, data: precision === 'float64' ? Float64Array.from(data) : Float32Array.from(data), shape: [...inp.shape] };
    if (inp.grad !== false) wrt.push(name);
  });
  let outs = b.node(spec.opType, nodeInputs, spec.attrs ?? {}, { outputs: spec.outputs ?? 1, domain: spec.domain, name: spec.opType });
  if (spec.decorate) outs = spec.decorate(b, outs);
  const diffOuts = (spec.differentiateOutputs ?? outs.map((_, i) => i)).map((i) => outs[i]!);
  graph.outputs = outs.map((o) => ({ name: o, dataType: 0, shape: null }));
  const opset = spec.opset ?? 18;
  const proto = create(ModelProtoSchema, {
    irVersion: opset >= 21 ? 10n : 8n,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
  });
  const model: ModelIR = { proto, graph, opset };

  return checkModelGradient(model, feeds, {
    wrt,
    outputs: diffOuts,
    random,
    label: spec.opType,
    registry: spec.registry,
    step: spec.step ?? (precision === 'float64' ? 1e-4 : 1e-2),
    atol: spec.atol ?? (precision === 'float64' ? 1e-6 : 2e-3),
    rtol: spec.rtol ?? (precision === 'float64' ? 1e-4 : 2e-2),
    maxEntries: spec.maxEntries ?? 60,
  });
}
