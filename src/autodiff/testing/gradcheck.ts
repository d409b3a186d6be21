/**
 * Test utility: checks a gradient rule against central finite differences through onnxruntime.
 * Builds a one-node model, differentiates L = Σ_k ⟨c_k, Y_k⟩ for random cotangents c_k with
 * buildVjpGraph, and compares each analytic gradient entry with (L(x+h) − L(x−h)) / 2h.
 */
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import type { AttrValue } from '../../onnx/attributes.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import { serializeModel, type ModelIR } from '../../onnx/model.js';
import { Session } from '../../runtime/session.js';
import type { AnyTensor } from '../../tensor/tensor.js';
import type { VjpRegistry } from '../registry.js';
import { buildVjpGraph, cotangentInputName } from '../vjp-graph.js';
import { gradOutputName } from '../gradient-graph.js';

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

export interface GradCheckResult {
  checked: number;
  maxAbsError: number;
  /** Gradients per differentiated input, flattened. */
  analytic: Float64Array[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
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
  const values: number[][] = [];
  spec.inputs.forEach((inp, i) => {
    if (inp.omitted) { nodeInputs.push(''); values.push([]); return; }
    const n = inp.shape.reduce((a, c) => a * c, 1);
    const low = inp.low ?? -1;
    const high = inp.high ?? 1;
    const data = inp.data ? [...inp.data] : Array.from({ length: n }, () => low + (high - low) * random());
    values.push(data);
    const name = `in${i}`;
    const type = inp.type ?? 'float';
    if (type === 'int64' || type === 'bool' || inp.constant) {
      const dt = type === 'int64' ? DT.INT64 : type === 'bool' ? DT.BOOL : floatType;
      const arr = type === 'int64' ? BigInt64Array.from(data, (v) => BigInt(v)) : type === 'bool' ? Uint8Array.from(data) : precision === 'float64' ? Float64Array.from(data) : Float32Array.from(data);
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

  const forward = await Session.create(serializeModel(model), { threads: 1, label: `${spec.opType} forward` });
  const vjp = await buildVjpGraph(model, { wrt, outputs: diffOuts, registry: spec.registry });
  const backward = await Session.create(serializeModel(vjp.model), { threads: 1, label: `${spec.opType} vjp` });
  try {
    const base = await forward.run(feeds);
    const cot: Record<string, Float64Array> = {};
    for (const o of diffOuts) {
      const t = base[o]!;
      const c = Float64Array.from({ length: t.data.length }, () => 2 * random() - 1);
      cot[o] = c;
      feeds[cotangentInputName(o)] = { type: t.type, data: t.type === 'float64' ? c : Float32Array.from(c), shape: t.shape };
    }
    const grads = await backward.run(feeds);
    for (const o of diffOuts) delete feeds[cotangentInputName(o)];
    const objective = async (f: Record<string, AnyTensor>): Promise<number> => {
      const r = await forward.run(f);
      let s = 0;
      for (const o of diffOuts) {
        const y = r[o]!.data as Float64Array | Float32Array;
        const c = cot[o]!;
        for (let k = 0; k < c.length; k++) s += c[k]! * y[k]!;
      }
      return s;
    };
    const h = spec.step ?? (precision === 'float64' ? 1e-4 : 1e-2);
    const atol = spec.atol ?? (precision === 'float64' ? 1e-6 : 2e-3);
    const rtol = spec.rtol ?? (precision === 'float64' ? 1e-4 : 2e-2);
    let checked = 0;
    let maxAbsError = 0;
    const analytic: Float64Array[] = [];
    for (const w of wrt) {
      const g = grads[gradOutputName(w)];
      assert.ok(g, `no gradient output for ${w}`);
      const x = feeds[w]!;
      assert.deepEqual([...g.shape], [...x.shape], `gradient of ${w} has shape [${g.shape}] but the input has [${x.shape}]`);
      const ga = Float64Array.from(g.data as Float64Array);
      analytic.push(ga);
      const n = x.data.length;
      const limit = spec.maxEntries ?? 60;
      const positions = n <= limit ? [...Array(n).keys()] : Array.from({ length: limit }, () => Math.floor(random() * n));
      for (const p of positions) {
        const orig = x.data[p] as number;
        (x.data as Float64Array)[p] = orig + h;
        const up = await objective(feeds);
        (x.data as Float64Array)[p] = orig - h;
        const down = await objective(feeds);
        (x.data as Float64Array)[p] = orig;
        const numeric = (up - down) / (2 * h);
        const err = Math.abs(ga[p]! - numeric);
        maxAbsError = Math.max(maxAbsError, err);
        checked++;
        assert.ok(
          err <= atol + rtol * Math.abs(numeric),
          `${spec.opType}: d/d${w}[${p}] analytic ${ga[p]} vs numeric ${numeric} (|err| ${err.toExponential(2)} > ${atol} + ${rtol}·|numeric|)`,
        );
      }
    }
    return { checked, maxAbsError, analytic };
  } finally {
    await forward.dispose();
    await backward.dispose();
  }
}
