/**
 * Test utility: checks the gradient graph of a whole model against central finite differences.
 * L = Σ_k ⟨c_k, Y_k⟩ over the model's float outputs with random cotangents c_k.
 */
import assert from 'node:assert/strict';
import { serializeModel, type ModelIR } from '../../onnx/model.js';
import { Session } from '../../runtime/session.js';
import type { AnyTensor } from '../../tensor/tensor.js';
import { gradOutputName } from '../gradient-graph.js';
import { buildVjpGraph } from '../vjp-graph.js';
import type { VjpRegistry } from '../registry.js';

export interface ModelGradCheckOptions {
  wrt: readonly string[];
  /** Outputs that get a cotangent (default: all graph outputs). */
  outputs?: readonly string[];
  /** Source of the random cotangents and sampled positions (default: a generator seeded with `seed`). */
  random?: () => number;
  /** Prefix of assertion messages, e.g. the op type. */
  label?: string;
  step?: number;
  atol?: number;
  rtol?: number;
  maxEntries?: number;
  seed?: number;
  registry?: VjpRegistry;
}

export interface ModelGradCheckResult {
  checked: number;
  maxAbsError: number;
  /** Analytic gradient per wrt value, flattened. */
  analytic: Float64Array[];
}

export async function checkModelGradient(model: ModelIR, feeds: Record<string, AnyTensor>, o: ModelGradCheckOptions): Promise<ModelGradCheckResult> {
  let s = (o.seed ?? 99) >>> 0 || 1;
  const random = o.random ?? ((): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const label = o.label ? `${o.label}: ` : '';
  const forward = await Session.create(serializeModel(model), { threads: 1, label: `${label}forward` });
  const vjp = await buildVjpGraph(model, { wrt: o.wrt, outputs: o.outputs, registry: o.registry });
  const backward = await Session.create(serializeModel(vjp.model), { threads: 1, label: `${label}vjp` });
  try {
    const base = await forward.run(feeds);
    const cot = new Map<string, Float64Array>();
    const vjpFeeds: Record<string, AnyTensor> = { ...feeds };
    for (const [out, input] of vjp.cotangentInputs) {
      const t = base[out]!;
      const c = Float64Array.from({ length: t.data.length }, () => 2 * random() - 1);
      cot.set(out, c);
      vjpFeeds[input] = { type: t.type, data: t.type === 'float64' ? c : Float32Array.from(c), shape: t.shape };
    }
    const grads = await backward.run(vjpFeeds);
    const objective = async (): Promise<number> => {
      const r = await forward.run(feeds);
      let total = 0;
      for (const [out, c] of cot) {
        const y = r[out]!.data as Float64Array | Float32Array;
        for (let k = 0; k < c.length; k++) total += c[k]! * y[k]!;
      }
      return total;
    };
    const double = Object.values(feeds).some((t) => t.type === 'float64');
    const h = o.step ?? (double ? 1e-5 : 1e-2);
    const atol = o.atol ?? (double ? 1e-6 : 2e-3);
    const rtol = o.rtol ?? (double ? 1e-4 : 2e-2);
    let checked = 0;
    let maxAbsError = 0;
    const analytic: Float64Array[] = [];
    for (const w of o.wrt) {
      const g = grads[gradOutputName(w)];
      assert.ok(g, `${label}no gradient output for ${w}`);
      const x = feeds[w]!;
      assert.deepEqual([...g.shape], [...x.shape], `${label}gradient of ${w} has shape [${g.shape}] but the input has [${x.shape}]`);
      const ga = Float64Array.from(g.data as ArrayLike<number>);
      analytic.push(ga);
      const n = x.data.length;
      const limit = o.maxEntries ?? 80;
      const positions = n <= limit ? [...Array(n).keys()] : Array.from({ length: limit }, () => Math.floor(random() * n));
      const data = x.data as Float64Array;
      for (const p of positions) {
        const orig = data[p]!;
        data[p] = orig + h;
        const up = await objective();
        data[p] = orig - h;
        const down = await objective();
        data[p] = orig;
        const numeric = (up - down) / (2 * h);
        const err = Math.abs(ga[p]! - numeric);
        maxAbsError = Math.max(maxAbsError, err);
        checked++;
        assert.ok(
          err <= atol + rtol * Math.abs(numeric),
          `${label}d/d${w}[${p}] analytic ${ga[p]} vs numeric ${numeric} (|err| ${err.toExponential(2)} > ${atol} + ${rtol}·|numeric|)`,
        );
      }
    }
    return { checked, maxAbsError, analytic };
  } finally {
    await forward.dispose();
    await backward.dispose();
  }
}
