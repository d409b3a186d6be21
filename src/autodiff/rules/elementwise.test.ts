import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { float, type AttrValue } from '../../onnx/attributes.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import { serializeModel, type ModelIR } from '../../onnx/model.js';
import { Session } from '../../runtime/session.js';
import type { AnyTensor } from '../../tensor/tensor.js';
import type { NonDifferentiablePolicy } from '../backprop.js';
import { gradOutputName } from '../gradient-graph.js';
import { createVjpRegistry } from '../registry.js';
import { gradCheck, type GradCheckInput } from '../testing/gradcheck.js';
import { buildVjpGraph, cotangentInputName } from '../vjp-graph.js';
import type { VjpRule } from '../vjp-rule.js';
import { ALL_RULES } from './index.js';

/** Deterministic values in [low, high) at least `margin` away from every kink, so finite differences never straddle one. */
function awayFrom(n: number, low: number, high: number, kinks: readonly number[], seed = 7, margin = 0.05): number[] {
  let s = seed;
  const out: number[] = [];
  while (out.length < n) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const v = low + ((high - low) * s) / 2147483648;
    if (kinks.every((k) => Math.abs(v - k) >= margin)) out.push(v);
  }
  return out;
}

const count = (shape: readonly number[]): number => shape.reduce((a, c) => a * c, 1);
/** A float input of `shape` with values in [low, high) away from `kinks`. */
const input = (shape: readonly number[], low: number, high: number, kinks: readonly number[] = [], seed = 7): GradCheckInput => ({
  shape,
  data: awayFrom(count(shape), low, high, kinks, seed),
});

const S = [2, 3, 4] as const;

test('smooth unary ops against finite differences', async () => {
  const cases: { opType: string; low: number; high: number; attrs?: Record<string, AttrValue> }[] = [
    { opType: 'Exp', low: -2, high: 2 },
    { opType: 'Log', low: 0.3, high: 3 },
    { opType: 'Sqrt', low: 0.3, high: 3 },
    { opType: 'Reciprocal', low: 0.3, high: 3 },
    { opType: 'Sigmoid', low: -4, high: 4 },
    { opType: 'Tanh', low: -2, high: 2 },
    { opType: 'Sin', low: -3, high: 3 },
    { opType: 'Cos', low: -3, high: 3 },
  ];
  for (const c of cases) {
    const r = await gradCheck({ opType: c.opType, attrs: c.attrs, inputs: [{ shape: S, low: c.low, high: c.high }] });
    assert.equal(r.checked, 24, c.opType);
  }
  // Reciprocal of negative inputs too (the sign of −Y² must not be lost).
  await gradCheck({ opType: 'Reciprocal', inputs: [{ shape: [5], low: -3, high: -0.3 }] });
});

test('Softplus, Softsign, Mish; Erf in float32 (onnxruntime has no float64 Erf)', async () => {
  for (const opType of ['Softplus', 'Softsign', 'Mish']) {
    const r = await gradCheck({ opType, inputs: [{ shape: S, low: -4, high: 4 }] });
    assert.equal(r.checked, 24, opType);
  }
  await gradCheck({ opType: 'Erf', precision: 'float32', inputs: [{ shape: S, low: -2, high: 2 }] });
});

test('Abs away from 0, and its gradient at 0 is 0', async () => {
  await gradCheck({ opType: 'Abs', inputs: [input(S, -2, 2, [0])] });
  const r = await vjpOf((b, [x]) => b.op('Abs', [x!]), [{ shape: [3], data: [-1, 0, 2] }], [1, 1, 1]);
  assert.deepEqual([...r.grads[0]!], [-1, 0, 1]);
});

test('ReLU family away from their kinks, with non-default attributes', async () => {
  const kink0 = input(S, -3, 3, [0]);
  await gradCheck({ opType: 'LeakyRelu', inputs: [kink0] });
  await gradCheck({ opType: 'LeakyRelu', attrs: { alpha: float(0.3) }, inputs: [kink0] });
  await gradCheck({ opType: 'Elu', inputs: [kink0] });
  await gradCheck({ opType: 'Elu', attrs: { alpha: float(0.4) }, inputs: [kink0] });
  await gradCheck({ opType: 'Selu', inputs: [kink0] });
  await gradCheck({ opType: 'Selu', attrs: { alpha: float(1.2), gamma: float(0.8) }, inputs: [kink0] });
  // Default HardSigmoid saturates at X = ±2.5; alpha 0.3, beta 0.4 at −4/3 and 2; negative alpha flips it.
  await gradCheck({ opType: 'HardSigmoid', inputs: [input(S, -4, 4, [-2.5, 2.5])] });
  await gradCheck({ opType: 'HardSigmoid', attrs: { alpha: float(0.3), beta: float(0.4) }, inputs: [input(S, -4, 4, [-4 / 3, 2])] });
  await gradCheck({ opType: 'HardSigmoid', attrs: { alpha: float(-0.25), beta: float(0.5) }, inputs: [input(S, -4, 4, [-2, 2])] });
  await gradCheck({ opType: 'HardSwish', inputs: [input(S, -5, 5, [-3, 3])] });
});

test('PRelu: per-channel slope [C,1,1], trailing slope [W], and full-shape slope', async () => {
  const x = input([2, 3, 4, 5], -2, 2, [0]);
  for (const slopeShape of [[3, 1, 1], [5], [2, 3, 4, 5]]) {
    const r = await gradCheck({ opType: 'PRelu', inputs: [x, { shape: slopeShape, low: 0.1, high: 0.5 }], maxEntries: 40 });
    assert.ok(r.checked >= 40 + Math.min(40, count(slopeShape)) - 1);
    assert.equal(r.analytic[1]!.length, count(slopeShape));
  }
});

test('Gelu (opset 20), exact and tanh approximation', async () => {
  // float32: onnxruntime expands Gelu through Erf, which it has only in float32.
  for (const approximate of ['none', 'tanh']) {
    const r = await gradCheck({ opType: 'Gelu', opset: 20, precision: 'float32', attrs: { approximate }, inputs: [{ shape: S, low: -4, high: 4 }] });
    assert.equal(r.checked, 24, approximate);
  }
});

test('Pow: both gradients under broadcasting, constant and integer exponents', async () => {
  await gradCheck({
    opType: 'Pow',
    inputs: [
      { shape: S, low: 0.5, high: 2 },
      { shape: [3, 1], low: -1.5, high: 2.5 },
    ],
  });
  await gradCheck({
    opType: 'Pow',
    inputs: [
      { shape: [1, 4], low: 0.5, high: 2 },
      { shape: S, low: 0.5, high: 2.5 },
    ],
  });
  // x² (the fast path) and x³ as an int64 exponent, on negative bases too.
  await gradCheck({
    opType: 'Pow',
    inputs: [
      { shape: S, low: -2, high: 2 },
      { shape: [], data: [2], constant: true },
    ],
  });
  await gradCheck({
    opType: 'Pow',
    inputs: [
      { shape: S, low: -2, high: 2 },
      { shape: [1], data: [3], type: 'int64' },
    ],
  });
});

test('Pow gradients at a zero base stay finite', async () => {
  const r = await vjpOf(
    (b, [x, e]) => b.op('Pow', [x!, e!]),
    [
      { shape: [3], data: [0, 0, 2] },
      { shape: [3], data: [2, 1.5, 3] },
    ],
    [1, 1, 1],
  );
  assert.deepEqual([...r.grads[0]!], [0, 0, 12]);
  assert.deepEqual([...r.grads[1]!].slice(0, 2), [0, 0]);
  assert.ok(Math.abs(r.grads[1]![2]! - 8 * Math.log(2)) < 1e-12);
});

test('Clip: constant bounds, one bound, none, and bounds as differentiated inputs', async () => {
  const x = input(S, -2, 2, [-0.5, 0.7]);
  const lo = { shape: [], data: [-0.5], constant: true };
  const hi = { shape: [], data: [0.7], constant: true };
  const omitted = { shape: [], omitted: true };
  await gradCheck({ opType: 'Clip', inputs: [x, lo, hi] });
  await gradCheck({ opType: 'Clip', inputs: [x, lo] });
  await gradCheck({ opType: 'Clip', inputs: [x, omitted, hi] });
  await gradCheck({ opType: 'Clip', inputs: [x] });
  const r = await gradCheck({ opType: 'Clip', inputs: [x, { shape: [], data: [-0.5] }, { shape: [], data: [0.7] }] });
  assert.equal(r.analytic.length, 3);
  await gradCheck({ opType: 'Clip', inputs: [x, omitted, { shape: [], data: [0.7] }] });
  // Crossed bounds (min > max): the output is max everywhere.
  await gradCheck({ opType: 'Clip', inputs: [x, { shape: [], data: [0.7] }, { shape: [], data: [-0.5] }] });
});

test('Clip passes the gradient at its bounds (PyTorch clamp convention)', async () => {
  const build = (b: GraphBuilder, [x, lo, hi]: string[]): string => b.op('Clip', [x!, lo!, hi!]);
  const r = await vjpOf(
    build,
    [
      { shape: [5], data: [-2, -1, 0, 1, 2] },
      { shape: [], data: [-1] },
      { shape: [], data: [1] },
    ],
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual([...r.grads[0]!], [0, 2, 3, 4, 0]);
  assert.deepEqual([...r.grads[1]!], [1]);
  assert.deepEqual([...r.grads[2]!], [5]);
});

test('Max/Min: two and three inputs under broadcasting', async () => {
  for (const opType of ['Max', 'Min']) {
    await gradCheck({ opType, inputs: [{ shape: S }, { shape: [3, 1] }] });
    const r = await gradCheck({ opType, inputs: [{ shape: S }, { shape: [1, 4] }, { shape: [3, 1] }] });
    assert.equal(r.analytic.length, 3);
    await gradCheck({ opType, inputs: [{ shape: S }] });
  }
});

test('Max/Min split the gradient equally among tied inputs', async () => {
  const data = [
    { shape: [3], data: [1, 5, 2] },
    { shape: [3], data: [1, 5, 3] },
    { shape: [3], data: [1, 4, 0] },
  ];
  const max = await vjpOf((b, xs) => b.op('Max', xs), data, [6, 6, 6]);
  assert.deepEqual(
    max.grads.map((g) => [...g]),
    [
      [2, 3, 0],
      [2, 3, 6],
      [2, 0, 0],
    ],
  );
  const min = await vjpOf((b, xs) => b.op('Min', xs), data, [6, 6, 6]);
  assert.deepEqual(
    min.grads.map((g) => [...g]),
    [
      [2, 0, 0],
      [2, 0, 0],
      [2, 6, 6],
    ],
  );
  // A value maxed with itself still receives the whole gradient once.
  const self = await vjpOf((b, [x]) => b.op('Max', [x!, x!]), [{ shape: [2], data: [1, -1] }], [1, 1]);
  assert.deepEqual([...self.grads[0]!], [1, 1]);
});

test('Sum and Mean: variadic under broadcasting', async () => {
  // onnxruntime has Mean only in float32.
  for (const [opType, precision] of [
    ['Sum', 'float64'],
    ['Mean', 'float32'],
  ] as const) {
    const r = await gradCheck({ opType, precision, inputs: [{ shape: S }, { shape: [1, 4] }, { shape: [3, 1] }] });
    assert.equal(r.analytic[1]!.length, 4);
    await gradCheck({ opType, precision, inputs: [{ shape: [3, 4] }] });
  }
});

test('Cast between float types', async () => {
  // Cast is linear, so a large step is exact while float32 rounding stays small beside it.
  const r = await gradCheck({ opType: 'Cast', attrs: { to: DT.FLOAT }, step: 0.25, atol: 1e-5, rtol: 1e-5, inputs: [{ shape: S }] });
  assert.equal(r.checked, 24);
  await gradCheck({ opType: 'Cast', attrs: { to: DT.DOUBLE }, inputs: [{ shape: S }] });
});

test('Dropout in inference mode is the identity', async () => {
  const ratio = { shape: [], data: [0.3], constant: true };
  await gradCheck({ opType: 'Dropout', inputs: [{ shape: S }, ratio, { shape: [], data: [0], type: 'bool' }], outputs: 2, differentiateOutputs: [0] });
  await gradCheck({ opType: 'Dropout', inputs: [{ shape: S }] });
});

test('Dropout in training mode scales the gradient by mask / (1 − ratio)', async () => {
  const n = 400;
  const r = await vjpOf(
    (b, [x]) => {
      const [y, mask] = b.node('Dropout', [x!, b.scalar(0.25, DT.DOUBLE), b.constant(DT.BOOL, [], Uint8Array.of(1))], { seed: 5 }, { outputs: 2 });
      return [y!, mask!];
    },
    [{ shape: [n], data: Array.from({ length: n }, (_, i) => 1 + i) }],
    Array.from({ length: n }, () => 3),
  );
  const mask = r.outputs[1]!.data as Uint8Array;
  const kept = mask.reduce((a, m) => a + m, 0);
  assert.ok(kept > 0.6 * n && kept < 0.9 * n, `kept ${kept} of ${n}`);
  for (let i = 0; i < n; i++) assert.equal(r.grads[0]![i], mask[i] ? 4 : 0);
});

test('Dropout with a non-constant training_mode is reported, not approximated', async () => {
  await assert.rejects(
    vjpOf(
      (b, [x, mode]) => b.op('Dropout', [x!, '', mode!]),
      [
        { shape: [3], data: [1, 2, 3] },
        { shape: [], data: [0], type: 'bool', grad: false },
      ],
      [1, 1, 1],
    ),
    (e: unknown) => (e as { code?: string }).code === 'unsupported_attribute' && /training_mode/.test(String(e)),
  );
});

test('Round on the path: zero gradient by default, straight-through with nonDifferentiable: identity', async () => {
  const build = (b: GraphBuilder, [x]: string[]): string => b.op('Mul', [b.op('Round', [b.op('Mul', [x!, b.scalar(3, DT.DOUBLE)])]), b.scalar(2, DT.DOUBLE)]);
  const feeds = [{ shape: [4], data: [0.1, 0.4, -0.7, 1.3] }];
  const zero = await vjpOf(build, feeds, [1, -1, 2, 0.5]);
  assert.deepEqual([...zero.grads[0]!], [0, 0, 0, 0]);
  assert.deepEqual(
    zero.nonDifferentiableNodes.map((n) => n.opType),
    ['Round'],
  );
  const straight = await vjpOf(build, feeds, [1, -1, 2, 0.5], { nonDifferentiable: 'identity' });
  assert.deepEqual([...straight.grads[0]!], [6, -6, 12, 3]);
});

test('gradCheck fails on a deliberately wrong rule', async () => {
  const wrongExp: VjpRule = { opType: 'Exp', sinceVersion: 13, inputs: ['input'], vjp: (ctx) => ({ input: ctx.dY()! }) };
  const registry = createVjpRegistry([...ALL_RULES.filter((r) => r.opType !== 'Exp'), wrongExp]);
  await assert.rejects(gradCheck({ opType: 'Exp', registry, inputs: [{ shape: [3, 4], low: 0.5, high: 1.5 }] }), /Exp: d\/din0\[\d+\] analytic/);
  // The same check passes with the real rule, so the failure is the rule's.
  await gradCheck({ opType: 'Exp', inputs: [{ shape: [3, 4], low: 0.5, high: 1.5 }] });
});

interface DirectInput {
  shape: readonly number[];
  data: readonly number[];
  type?: 'bool';
  grad?: boolean;
}

/**
 * Builds a float64 graph, differentiates its first output with buildVjpGraph for the given
 * cotangent and returns the gradients of the float inputs and the forward outputs. For checks at
 * points finite differences cannot settle (kinks, ties, non-differentiable ops).
 */
async function vjpOf(
  build: (b: GraphBuilder, inputs: string[]) => string | string[],
  inputs: readonly DirectInput[],
  cotangent: readonly number[],
  options: { nonDifferentiable?: NonDifferentiablePolicy } = {},
): Promise<{ grads: Float64Array[]; outputs: AnyTensor[]; nonDifferentiableNodes: readonly { opType: string }[] }> {
  const graph: Graph = { name: 'direct', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  const b = new GraphBuilder(graph, 'direct');
  const feeds: Record<string, AnyTensor> = {};
  const names = inputs.map((inp, i) => {
    const name = `x${i}`;
    const bool = inp.type === 'bool';
    graph.inputs.push({ name, dataType: bool ? DT.BOOL : DT.DOUBLE, shape: [...inp.shape] });
    feeds[name] = bool
      ? { type: 'bool', data: Uint8Array.from(inp.data), shape: inp.shape }
      : { type: 'float64', data: Float64Array.from(inp.data), shape: inp.shape };
    return name;
  });
  const built = build(b, names);
  const outs = typeof built === 'string' ? [built] : built;
  graph.outputs = outs.map((o) => ({ name: o, dataType: 0, shape: null }));
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  const model: ModelIR = { proto, graph, opset: 18 };
  const wrt = names.filter((_, i) => inputs[i]!.type !== 'bool' && inputs[i]!.grad !== false);
  const vjp = await buildVjpGraph(model, { wrt, outputs: [outs[0]!], nonDifferentiable: options.nonDifferentiable });
  const session = await Session.create(serializeModel(vjp.model), { threads: 1, label: 'direct vjp' });
  try {
    const y = outs[0]!;
    feeds[cotangentInputName(y)] = { type: 'float64', data: Float64Array.from(cotangent), shape: [cotangent.length] };
    const result = await session.run(feeds);
    return {
      grads: wrt.map((w) => result[gradOutputName(w)]!.data as Float64Array),
      outputs: outs.map((o) => result[o]!),
      nonDifferentiableNodes: vjp.nonDifferentiableNodes,
    };
  } finally {
    await session.dispose();
  }
}
