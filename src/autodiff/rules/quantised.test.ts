/**
 * Gradients of quantised ops. MatMulInteger and ConvInteger are linear in their integer operands, so
 * central differences with a step of 1 on integer-valued inputs are exact. The straight-through
 * rules (DynamicQuantizeLinear, QLinearMatMul, QLinearConv) are compared with the float op on the
 * dequantised operands, and whole quantised models (test/fixtures/quant, made by
 * tools/quant/make_quant_fixtures.py) with the float models they came from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import { loadModel, serializeModel, type ModelIR } from '../../onnx/model.js';
import { Session } from '../../runtime/session.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { readNpy, toFloat32 } from '../../tensor/npy.js';
import { buildVjpGraph, cotangentInputName } from '../vjp-graph.js';
import { buildGradientGraph, gradOutputName } from '../gradient-graph.js';

type Build = (b: GraphBuilder, inputs: Record<string, string>) => string;

function oneOutputModel(inputs: Record<string, readonly number[]>, build: Build): ModelIR {
  const graph: Graph = { name: 'q', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  for (const [name, shape] of Object.entries(inputs)) graph.inputs.push({ name, dataType: DT.FLOAT, shape: [...shape] });
  const b = new GraphBuilder(graph);
  const names = Object.fromEntries(Object.keys(inputs).map((k) => [k, k]));
  b.node('Identity', [build(b, names)], {}, { outputNames: ['y'] });
  graph.outputs = [{ name: 'y', dataType: DT.FLOAT, shape: null }];
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] }),
    graph,
    opset: 18,
  };
}

interface Run {
  y: Float32Array;
  grads: Record<string, Float32Array>;
  straightThrough: string[];
  nonDifferentiable: string[];
}

/** Forward output and Σ⟨c, y⟩'s gradients with respect to every input, under the given policy. */
async function vjpRun(m: ModelIR, feeds: Record<string, Float32Array>, cot: (n: number) => Float32Array, policy: 'zero' | 'identity'): Promise<Run> {
  const wrt = m.graph.inputs.map((v) => v.name);
  const vjp = await buildVjpGraph(m, { wrt, nonDifferentiable: policy });
  const fwd = await Session.create(serializeModel(m), { threads: 1 });
  const bwd = await Session.create(serializeModel(vjp.model), { threads: 1 });
  try {
    const f = Object.fromEntries(m.graph.inputs.map((v) => [v.name, { type: 'float32' as const, data: feeds[v.name]!, shape: v.shape as number[] }]));
    const y = (await fwd.run(f))['y']!;
    const c = cot(y.data.length);
    const r = await bwd.run({ ...f, [cotangentInputName('y')]: { type: 'float32', data: c, shape: y.shape } });
    const grads = Object.fromEntries(wrt.map((w) => [w, r[gradOutputName(w)]!.data as Float32Array]));
    return {
      y: y.data as Float32Array,
      grads,
      straightThrough: vjp.straightThroughNodes.map((n) => n.opType),
      nonDifferentiable: vjp.nonDifferentiableNodes.map((n) => n.opType),
    };
  } finally {
    await fwd.dispose();
    await bwd.dispose();
  }
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}
const integers = (n: number, lo: number, hi: number, r: () => number): Float32Array =>
  Float32Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
const cotangent =
  (seed: number) =>
  (n: number): Float32Array => {
    const r = lcg(seed);
    return Float32Array.from({ length: n }, () => 2 * r() - 1);
  };

/**
 * Integer operands enter as float inputs holding integers, cast to the integer type; the Cast is a
 * quantiser, straight-through under 'identity' and exact on integers, so the gradient reaching each
 * input is the rule's. Central differences with step 1 are exact for an op linear in its operands.
 */
async function integerFiniteDifferences(inputs: Record<string, readonly number[]>, feeds: Record<string, Float32Array>, build: Build): Promise<number> {
  const m = oneOutputModel(inputs, build);
  const cot = cotangent(7);
  const run = await vjpRun(m, feeds, cot, 'identity');
  const fwd = await Session.create(serializeModel(m), { threads: 1 });
  const c = cot(run.y.length);
  const objective = async (f: Record<string, Float32Array>): Promise<number> => {
    const feed = Object.fromEntries(m.graph.inputs.map((v) => [v.name, { type: 'float32' as const, data: f[v.name]!, shape: v.shape as number[] }]));
    const y = (await fwd.run(feed))['y']!.data as Float32Array;
    return y.reduce((s, v, k) => s + v * c[k]!, 0);
  };
  let checked = 0;
  try {
    for (const name of Object.keys(inputs)) {
      const x = feeds[name]!;
      for (let k = 0; k < x.length; k += Math.max(1, Math.floor(x.length / 12))) {
        const plus = { ...feeds, [name]: Float32Array.from(x) };
        plus[name]![k]! += 1;
        const minus = { ...feeds, [name]: Float32Array.from(x) };
        minus[name]![k]! -= 1;
        const numeric = ((await objective(plus)) - (await objective(minus))) / 2;
        const analytic = run.grads[name]![k]!;
        assert.ok(Math.abs(analytic - numeric) <= 1e-3 + 1e-4 * Math.abs(numeric), `${name}[${k}]: analytic ${analytic}, finite differences ${numeric}`);
        checked++;
      }
    }
  } finally {
    await fwd.dispose();
  }
  return checked;
}

test('MatMulInteger: gradients of A and B (zero points, per-column for B, batched A) match finite differences', async () => {
  const r = lcg(1);
  const feeds = { a: integers(2 * 3 * 4, 1, 254, r), b: integers(4 * 5, -100, 100, r) };
  const checked = await integerFiniteDifferences({ a: [2, 3, 4], b: [4, 5] }, feeds, (bd, { a, b }) => {
    const aq = bd.op('Cast', [a!], { to: DT.UINT8 });
    const bq = bd.op('Cast', [b!], { to: DT.INT8 });
    const azp = bd.constant(DT.UINT8, [], Uint8Array.of(7));
    const bzp = bd.constant(DT.INT8, [], Int8Array.of(-3));
    return bd.op('Cast', [bd.op('MatMulInteger', [aq, bq, azp, bzp])], { to: DT.FLOAT });
  });
  assert.ok(checked >= 20, `checked ${checked}`);
  // A per-column zero point of B (onnxruntime takes only a scalar one for A), 2-D operands.
  const feeds2 = { a: integers(3 * 4, 1, 254, r), b: integers(4 * 2, 1, 254, r) };
  await integerFiniteDifferences({ a: [3, 4], b: [4, 2] }, feeds2, (bd, { a, b }) => {
    const aq = bd.op('Cast', [a!], { to: DT.UINT8 });
    const bq = bd.op('Cast', [b!], { to: DT.UINT8 });
    const azp = bd.constant(DT.UINT8, [], Uint8Array.of(250));
    const bzp = bd.constant(DT.UINT8, [2], Uint8Array.of(30, 200));
    return bd.op('Cast', [bd.op('MatMulInteger', [aq, bq, azp, bzp])], { to: DT.FLOAT });
  });
});

test('ConvInteger: gradients of x and w (stride 2, pads, zero points) match finite differences', async () => {
  const r = lcg(2);
  const feeds = { x: integers(2 * 2 * 6 * 5, 1, 254, r), w: integers(3 * 2 * 3 * 3, 1, 254, r) };
  const checked = await integerFiniteDifferences({ x: [2, 2, 6, 5], w: [3, 2, 3, 3] }, feeds, (bd, { x, w }) => {
    const xq = bd.op('Cast', [x!], { to: DT.UINT8 });
    const wq = bd.op('Cast', [w!], { to: DT.UINT8 });
    const xzp = bd.constant(DT.UINT8, [], Uint8Array.of(100));
    const wzp = bd.constant(DT.UINT8, [], Uint8Array.of(128));
    const y = bd.op('ConvInteger', [xq, wq, xzp, wzp], { strides: [2, 2], pads: [1, 0, 1, 1], kernel_shape: [3, 3] });
    return bd.op('Cast', [y], { to: DT.FLOAT });
  });
  assert.ok(checked >= 20, `checked ${checked}`);
});

/** Largest |a − b| relative to max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let k = 0; k < b.length; k++) {
    err = Math.max(err, Math.abs(a[k]! - b[k]!));
    scale = Math.max(scale, Math.abs(b[k]!));
  }
  return err / scale;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < a.length; k++) {
    ab += a[k]! * b[k]!;
    aa += a[k]! * a[k]!;
    bb += b[k]! * b[k]!;
  }
  return ab / Math.sqrt(aa * bb);
}

test('DynamicQuantizeLinear → MatMulInteger: straight-through gradient equals the float MatMul on dequantised weights, and is reported', async () => {
  const r = lcg(3);
  const wq = Int8Array.from({ length: 6 * 4 }, () => Math.floor(r() * 255) - 127);
  const wScale = 0.02;
  const x = Float32Array.from({ length: 3 * 6 }, () => 2 * r() - 0.7);
  const quantised = oneOutputModel({ x: [3, 6] }, (b, { x }) => {
    const [q, s, z] = b.node('DynamicQuantizeLinear', [x!], {}, { outputs: 3 });
    const mm = b.op('MatMulInteger', [q!, b.constant(DT.INT8, [6, 4], wq), z!, b.constant(DT.INT8, [], Int8Array.of(0))]);
    return b.op('Mul', [b.op('Cast', [mm], { to: DT.FLOAT }), b.op('Mul', [s!, b.scalar(wScale)])]);
  });
  const float = oneOutputModel({ x: [3, 6] }, (b, { x }) =>
    b.op('MatMul', [
      x!,
      b.constant(
        DT.FLOAT,
        [6, 4],
        Float32Array.from(wq, (v) => v * wScale),
      ),
    ]),
  );
  const q = await vjpRun(quantised, { x }, cotangent(5), 'zero');
  const f = await vjpRun(float, { x }, cotangent(5), 'zero');
  assert.ok(relativeError(q.y, f.y) < 0.02, `outputs agree to the quantisation error (${relativeError(q.y, f.y)})`);
  // One linear layer: the straight-through gradient is exactly the float one (up to float32 rounding).
  assert.ok(relativeError(q.grads['x']!, f.grads['x']!) < 1e-5, `gradients: relative error ${relativeError(q.grads['x']!, f.grads['x']!)}`);
  assert.deepEqual(q.straightThrough, ['DynamicQuantizeLinear']);
  assert.deepEqual(q.nonDifferentiable, []);
});

/**
 * x → QuantizeLinear → QLinearMatMul or QLinearConv → DequantizeLinear, against the float op on the
 * dequantised weights. x lies on the input's quantisation grid, so the float op computes exactly the
 * value the quantised op rounds (its `y`: the pre-rounding value in dequantised units, less y_zero_point).
 */
async function qlinearAgainstFloat(
  op: 'QLinearMatMul' | 'QLinearConv',
  yScale: number,
  floatCotangent?: (y: Float32Array) => (n: number) => Float32Array,
): Promise<{ q: Run; f: Run; saturated: number }> {
  const r = lcg(4);
  const conv = op === 'QLinearConv';
  const xShape = conv ? [2, 2, 5, 5] : [3, 6];
  const wShape = conv ? [3, 2, 3, 3] : [6, 4];
  const channels = conv ? 3 : 4;
  const n = (s: number[]): number => s.reduce((a, c) => a * c, 1);
  const xScale = 1 / 255;
  const x = Float32Array.from({ length: n(xShape) }, () => Math.floor(r() * 256) * xScale);
  const wq = Int8Array.from({ length: n(wShape) }, () => Math.floor(r() * 255) - 127);
  // Per-channel weight scales (output channels of the Conv, columns of the MatMul).
  const wScales = Float32Array.from({ length: channels }, (_, i) => 0.01 * (i + 1));
  const wDeq = Float32Array.from(wq, (v, k) => v * wScales[conv ? Math.floor(k / (n(wShape) / channels)) : k % channels]!);
  const attrs = conv ? { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } : {};
  const quantised = oneOutputModel({ x: xShape }, (b, { x }) => {
    const xs = b.scalar(xScale);
    const xz = b.constant(DT.UINT8, [], Uint8Array.of(0));
    const xq = b.op('QuantizeLinear', [x!, xs, xz]);
    const ys = b.scalar(yScale);
    const yz = b.constant(DT.UINT8, [], Uint8Array.of(128));
    const ws = b.constant(DT.FLOAT, [channels], wScales);
    const wz = b.constant(DT.INT8, [channels], new Int8Array(channels));
    const y = b.op(op, [xq, xs, xz, b.constant(DT.INT8, wShape, wq), ws, wz, ys, yz], attrs);
    return b.op('DequantizeLinear', [y, ys, yz]);
  });
  const float = oneOutputModel({ x: xShape }, (b, { x }) => b.op(conv ? 'Conv' : 'MatMul', [x!, b.constant(DT.FLOAT, wShape, wDeq)], attrs));
  const q = await vjpRun(quantised, { x }, cotangent(6), 'identity');
  let f = await vjpRun(float, { x }, cotangent(6), 'identity');
  // Pre-rounding position in quantisation steps: saturated outside [−0.5, 255.5).
  const steps = f.y.map((v) => v / yScale + 128);
  const saturated = steps.filter((t) => t < -0.5 || t >= 255.5).length / steps.length;
  if (floatCotangent) f = await vjpRun(float, { x }, floatCotangent(steps), 'identity');
  return { q, f, saturated };
}

for (const op of ['QLinearMatMul', 'QLinearConv'] as const) {
  test(`${op}: unsaturated, the straight-through gradient equals the float op's on dequantised operands; reported`, async () => {
    const { q, f, saturated } = await qlinearAgainstFloat(op, 0.2);
    assert.equal(saturated, 0, 'nothing saturates at this output scale');
    assert.ok(relativeError(q.y, f.y) < 0.05, `outputs agree to the quantisation error (${relativeError(q.y, f.y)})`);
    assert.ok(relativeError(q.grads['x']!, f.grads['x']!) < 1e-5, `gradient relative error ${relativeError(q.grads['x']!, f.grads['x']!)}`);
    assert.deepEqual(q.straightThrough, [op]);
    assert.deepEqual(q.nonDifferentiable, ['QuantizeLinear']);
  });

  test(`${op}: saturated outputs pass no gradient (clipped straight-through)`, async () => {
    // The float op's gradient with the cotangent of the saturated outputs set to 0.
    const mask =
      (steps: Float32Array) =>
      (n: number): Float32Array =>
        cotangent(6)(n).map((c, k) => (steps[k]! < -0.5 || steps[k]! >= 255.5 ? 0 : c));
    const { q, f, saturated } = await qlinearAgainstFloat(op, 0.004, mask);
    assert.ok(saturated > 0.1 && saturated < 0.9, `a good part saturates (${saturated})`);
    assert.ok(relativeError(q.grads['x']!, f.grads['x']!) < 1e-4, `relative error ${relativeError(q.grads['x']!, f.grads['x']!)}`);
    const unclipped = await qlinearAgainstFloat(op, 0.004);
    assert.ok(relativeError(q.grads['x']!, unclipped.f.grads['x']!) > 0.05, 'differs from the unclipped gradient');
  });
}

const FIXTURES = 'test/fixtures/quant';

for (const [name, policy] of [
  ['dynquant_mlp', 'zero'],
  ['dynquant_cnn', 'zero'],
  ['static_qlinear_cnn', 'identity'],
] as const) {
  test(`${name}: input gradient equals torch's straight-through reference and agrees closely with the float model's`, async () => {
    const x = readNpy(`${FIXTURES}/${name}.x.npy`);
    const xs = { data: toFloat32(x), shape: x.shape };
    const n = x.shape[0]!;
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    const quantised = await OnnxModel.load(`${FIXTURES}/${name}.onnx`, { threads: 1, nonDifferentiable: policy });
    const float = await OnnxModel.load(`${FIXTURES}/${name}_float.onnx`, { threads: 1 });
    try {
      const q = await quantised.lossAndGrad(xs, labels, 'ce');
      const reference = toFloat32(readNpy(`${FIXTURES}/${name}.ste_grad.npy`));
      assert.ok(relativeError(q.grad.data, reference) < 1e-4, `against the reference: relative error ${relativeError(q.grad.data, reference)}`);
      // The estimate against the float model the quantised one approximates: activations rounded to
      // 8 bits flip a few ReLUs, so agreement is close, not exact (least on the static model, whose
      // three layers all round their outputs).
      const f = await float.lossAndGrad(xs, labels, 'ce');
      const row = q.grad.data.length / n;
      const cosines = Array.from({ length: n }, (_, i) => cosine(q.grad.data.subarray(i * row, (i + 1) * row), f.grad.data.subarray(i * row, (i + 1) * row)));
      for (const c of cosines) assert.ok(c > 0.9, `cosine(quantised grad, float grad) per example: ${cosines.map((v) => v.toFixed(3))}`);
    } finally {
      await quantised.dispose();
      await float.dispose();
    }
    const g = await buildGradientGraph(loadModel(`${FIXTURES}/${name}.onnx`), { wrt: 'input', loss: 'ce', nonDifferentiable: policy });
    assert.ok(g.straightThroughNodes.length >= 2, `straight-through nodes reported: ${g.straightThroughNodes.map((v) => v.name)}`);
  });
}

test('zoo dynamic_quant_mlp_op13: differentiable, DynamicQuantizeLinear reported as straight-through', async () => {
  const g = await buildGradientGraph(loadModel('test/fixtures/zoo/dynamic_quant_mlp_op13.onnx'), { wrt: 'input', loss: 'ce' });
  assert.deepEqual(
    g.straightThroughNodes.map((v) => v.opType),
    ['DynamicQuantizeLinear', 'DynamicQuantizeLinear'],
  );
  assert.deepEqual(g.nonDifferentiableNodes, []);
});
