import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { float, floats, type AttrValue } from '../onnx/attributes.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import { cloneModel, serializeModel, type ModelIR } from '../onnx/model.js';
import { Session } from '../runtime/session.js';
import type { AnyTensor } from '../tensor/tensor.js';
import type { ValueFacts } from './probe.js';
import { gradCheck } from './testing/gradcheck.js';
import { checkModelGradient } from './testing/model-gradcheck.js';
import { isRecurrentNode, unrollRecurrent, unrollRecurrentNodes } from './unroll-recurrent.js';
import { buildVjpGraph } from './vjp-graph.js';

type Op = 'LSTM' | 'GRU' | 'RNN';
const GATES: Record<Op, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const OUTPUTS: Record<Op, string[]> = { LSTM: ['Y', 'Y_h', 'Y_c'], GRU: ['Y', 'Y_h'], RNN: ['Y', 'Y_h'] };

interface Case {
  op: Op;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  bias?: boolean;
  initialH?: boolean;
  initialC?: boolean;
  peepholes?: boolean;
  /** A constant sequence_lens input (int32). */
  seqLens?: number[];
  attrs?: Record<string, AttrValue>;
  /** Which outputs the node has (others are omitted, ''); default all. */
  outputs?: string[];
  seqLength?: number;
  batch?: number;
}

interface Built {
  model: ModelIR;
  feeds: Record<string, AnyTensor>;
  facts: Map<string, ValueFacts>;
  wrt: string[];
  outputs: string[];
}

const INPUT = 3;
const HIDDEN = 2;

/** A one-node model; every float input is a graph input (so all are differentiated). */
function build(c: Case, precision: 'float32' | 'float64', seed = 7): Built {
  let s = seed;
  const random = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const dataType = precision === 'float64' ? DT.DOUBLE : DT.FLOAT;
  const T = c.seqLength ?? 3;
  const N = c.batch ?? 2;
  const dirs = c.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[c.op];
  const layout = c.layout ?? 0;
  const graph: Graph = { name: 'recurrent', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  const b = new GraphBuilder(graph, 't');
  const feeds: Record<string, AnyTensor> = {};
  const facts = new Map<string, ValueFacts>();
  const wrt: string[] = [];
  const add = (name: string, shape: number[], scale = 1): string => {
    const n = shape.reduce((a, d) => a * d, 1);
    const values = Array.from({ length: n }, () => scale * random());
    graph.inputs.push({ name, dataType, shape });
    feeds[name] = { type: precision, data: precision === 'float64' ? Float64Array.from(values) : Float32Array.from(values), shape };
    facts.set(name, { dataType, shape });
    wrt.push(name);
    return name;
  };
  const state = layout === 0 ? [dirs, N, HIDDEN] : [N, dirs, HIDDEN];
  const inputs = [
    add('X', layout === 0 ? [T, N, INPUT] : [N, T, INPUT]),
    add('W', [dirs, G * HIDDEN, INPUT]),
    add('R', [dirs, G * HIDDEN, HIDDEN]),
    c.bias ? add('B', [dirs, 2 * G * HIDDEN], 0.5) : '',
    '',
    c.initialH ? add('initial_h', state) : '',
  ];
  if (c.seqLens) {
    inputs[4] = b.constant(DT.INT32, [c.seqLens.length], Int32Array.from(c.seqLens), 'sequence_lens');
    facts.set(inputs[4], { dataType: DT.INT32, shape: [c.seqLens.length], constant: c.seqLens });
  }
  if (c.op === 'LSTM') inputs.push(c.initialC ? add('initial_c', state) : '', c.peepholes ? add('P', [dirs, 3 * HIDDEN]) : '');
  while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
  const wanted = c.outputs ?? OUTPUTS[c.op];
  const outputNames = OUTPUTS[c.op].map((o) => (wanted.includes(o) ? o : ''));
  while (outputNames[outputNames.length - 1] === '') outputNames.pop();
  const attrs: Record<string, AttrValue> = {
    hidden_size: HIDDEN,
    ...(c.direction ? { direction: c.direction } : {}),
    ...(layout ? { layout } : {}),
    ...c.attrs,
  };
  b.node(c.op, inputs, attrs, { outputNames, name: c.op });
  graph.outputs = wanted.map((name) => ({ name, dataType, shape: null }));
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  return { model: { proto, graph, opset: 18 }, feeds, facts, wrt, outputs: wanted };
}

const describe = (c: Case): string =>
  `${c.op} ${c.direction ?? 'forward'} layout ${c.layout ?? 0}${c.bias ? ' B' : ''}${c.initialH ? ' initial_h' : ''}${c.initialC ? ' initial_c' : ''}${c.peepholes ? ' P' : ''}${
    c.seqLens ? ' sequence_lens' : ''
  } ${JSON.stringify(c.attrs ?? {})} → ${(c.outputs ?? OUTPUTS[c.op]).join(', ')}`;

/** The native op and its unrolled form give the same outputs (float32, onnxruntime's kernels). */
async function checkForward(c: Case): Promise<number> {
  // onnxruntime's kernels only run layout 0: a layout-1 node is compared with the layout-0 op on
  // the same data, transposed to batch first.
  const { model, feeds, outputs } = build({ ...c, layout: 0 }, 'float32');
  const batchFirst = c.layout === 1;
  const target = batchFirst ? build(c, 'float32') : undefined;
  const targetFeeds: Record<string, AnyTensor> = { ...feeds };
  if (batchFirst) for (const [k, t] of Object.entries(feeds)) if (['X', 'initial_h', 'initial_c'].includes(k)) targetFeeds[k] = swap01(t);
  const unrolled = cloneModel(target?.model ?? model);
  // The probe cannot run a layout-1 node either: give the pass the declared shapes.
  assert.equal(target ? unrollRecurrentNodes(unrolled.graph, target.facts) : await unrollRecurrent(unrolled), 1);
  assert.ok(!unrolled.graph.nodes.some(isRecurrentNode), 'a recurrent node is left');
  const native = await Session.create(serializeModel(model), { threads: 1, label: 'native' });
  const mine = await Session.create(serializeModel(unrolled), { threads: 1, label: 'unrolled' });
  let worst = 0;
  try {
    const a = await native.run(feeds);
    if (batchFirst) for (const o of outputs) a[o] = o === 'Y' ? batchFirstY(a[o]!) : swap01(a[o]!);
    const u = await mine.run(targetFeeds);
    for (const o of outputs) {
      assert.deepEqual(u[o]!.shape, a[o]!.shape, `${describe(c)}: shape of ${o}`);
      const x = a[o]!.data as Float32Array;
      const y = u[o]!.data as Float32Array;
      let max = 0;
      for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
      assert.ok(max <= 1e-5, `${describe(c)}: ${o} differs from onnxruntime's ${c.op} by ${max}`);
      assert.ok(
        x.some((v) => v !== 0),
        `${describe(c)}: ${o} is all zeros`,
      );
      worst = Math.max(worst, max);
    }
  } finally {
    await native.dispose();
    await mine.dispose();
  }
  return worst;
}

/** Swaps the first two axes of a float32 tensor. */
function swap01(t: AnyTensor): AnyTensor {
  const [a, b] = t.shape as [number, number];
  const inner = t.data.length / (a * b);
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(src.subarray((i * b + j) * inner, (i * b + j + 1) * inner), (j * a + i) * inner);
  return { type: 'float32', data: out, shape: [b, a, ...t.shape.slice(2)] };
}

/** Y (T, directions, N, H) → (N, T, directions, H). */
function batchFirstY(t: AnyTensor): AnyTensor {
  const [T, D, N, H] = t.shape as [number, number, number, number];
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let s = 0; s < T; s++)
    for (let d = 0; d < D; d++)
      for (let n = 0; n < N; n++) {
        out.set(src.subarray(((s * D + d) * N + n) * H, ((s * D + d) * N + n + 1) * H), ((n * T + s) * D + d) * H);
      }
  return { type: 'float32', data: out, shape: [N, T, D, H] };
}

/** The gradient of the unrolled graph (float64) against central finite differences, for every input. */
async function checkGradient(c: Case): Promise<void> {
  const { model, feeds, facts, wrt, outputs } = build(c, 'float64', 11);
  assert.equal(unrollRecurrentNodes(model.graph, facts), 1);
  const r = await checkModelGradient(model, feeds, { wrt, outputs, label: describe(c), maxEntries: 16, seed: 5 });
  const expected = wrt.reduce((sum, w) => sum + Math.min(feeds[w]!.data.length, 16), 0);
  assert.equal(r.checked, expected, `${describe(c)}: entries checked`);
  for (const [k, g] of r.analytic.entries())
    assert.ok(
      g.some((v) => v !== 0),
      `${describe(c)}: gradient of ${wrt[k]} is all zeros`,
    );
}

async function check(c: Case): Promise<void> {
  await checkForward(c);
  await checkGradient(c);
}

test('LSTM: forward, reverse, bidirectional; B, initial states and peepholes; layout 1', async () => {
  await check({ op: 'LSTM' });
  await check({ op: 'LSTM', direction: 'reverse', bias: true, initialH: true, initialC: true });
  await check({ op: 'LSTM', direction: 'bidirectional', bias: true, initialH: true, initialC: true, peepholes: true });
  await check({ op: 'LSTM', direction: 'bidirectional', layout: 1, bias: true, initialH: true, initialC: true, peepholes: true });
  await check({ op: 'LSTM', direction: 'reverse', layout: 1, initialC: true });
});

test('LSTM: only Y, only Y_h, only Y_c used; clip; input_forget; sequence_lens equal to the length', async () => {
  await check({ op: 'LSTM', bias: true, initialH: true, outputs: ['Y'] });
  await check({ op: 'LSTM', direction: 'bidirectional', initialC: true, outputs: ['Y_h'] });
  await check({ op: 'LSTM', direction: 'reverse', bias: true, outputs: ['Y_c'] });
  await check({ op: 'LSTM', bias: true, peepholes: true, initialC: true, attrs: { clip: float(0.6) } });
  await check({ op: 'LSTM', bias: true, peepholes: true, initialC: true, attrs: { input_forget: 1 } });
  await check({ op: 'LSTM', bias: true, seqLens: [3, 3] });
});

test('GRU: linear_before_reset 0 and 1, with and without B and initial_h, all directions, layout 1, clip', async () => {
  for (const lbr of [0, 1]) {
    await check({ op: 'GRU', attrs: { linear_before_reset: lbr } });
    await check({ op: 'GRU', bias: true, initialH: true, attrs: { linear_before_reset: lbr } });
    await check({ op: 'GRU', direction: 'bidirectional', bias: true, attrs: { linear_before_reset: lbr } });
  }
  await check({ op: 'GRU', direction: 'reverse', layout: 1, bias: true, initialH: true, attrs: { linear_before_reset: 1 }, outputs: ['Y_h'] });
  await check({ op: 'GRU', bias: true, initialH: true, attrs: { clip: float(0.5) }, outputs: ['Y'] });
});

test('RNN: default Tanh, Relu, bidirectional with B and initial_h, layout 1', async () => {
  await check({ op: 'RNN' });
  await check({ op: 'RNN', direction: 'bidirectional', bias: true, initialH: true, attrs: { activations: ['Relu', 'Tanh'] } });
  await check({ op: 'RNN', direction: 'reverse', layout: 1, bias: true, initialH: true, attrs: { activations: ['Relu'] } });
});

test("sequence_lens that differ per row: masked steps, per-row last states, reverse from each row's end", async () => {
  await check({ op: 'LSTM', bias: true, initialH: true, initialC: true, seqLens: [3, 1] });
  await check({ op: 'LSTM', direction: 'bidirectional', peepholes: true, seqLens: [2, 3] });
  await check({ op: 'GRU', direction: 'reverse', bias: true, initialH: true, seqLens: [1, 3], attrs: { linear_before_reset: 1 } });
  await check({ op: 'GRU', direction: 'bidirectional', seqLens: [2, 1], seqLength: 4 });
  await check({ op: 'RNN', direction: 'bidirectional', bias: true, seqLens: [3, 2] });
});

test('activations with parameters: alpha and beta consumed in order by the activations that take them', async () => {
  await check({ op: 'RNN', bias: true, attrs: { activations: ['LeakyRelu'], activation_alpha: floats([0.3]) } });
  // Index-aligned lists would give LeakyRelu the default alpha here; onnxruntime gives it 0.1.
  await check({ op: 'RNN', direction: 'bidirectional', attrs: { activations: ['Tanh', 'LeakyRelu'], activation_alpha: floats([0.1]) } });
  await check({ op: 'RNN', direction: 'reverse', bias: true, initialH: true, attrs: { activations: ['ThresholdedRelu'], activation_alpha: floats([0.05]) } });
  await check({
    op: 'GRU',
    bias: true,
    initialH: true,
    attrs: { activations: ['HardSigmoid', 'Elu'], activation_alpha: floats([0.3, 0.8]), activation_beta: floats([0.6]) },
  });
  await check({
    op: 'LSTM',
    bias: true,
    initialC: true,
    attrs: { activations: ['HardSigmoid', 'ScaledTanh', 'Affine'], activation_alpha: floats([0.25, 1.5, 0.7]), activation_beta: floats([0.5, 0.8, 0.1]) },
  });
});

test('end to end against the native kernels: finite differences of onnxruntime LSTM/GRU/RNN (float32)', async () => {
  // buildVjpGraph unrolls (probing shapes) while the finite differences run the native op.
  for (const c of [
    { op: 'LSTM', direction: 'bidirectional', bias: true, initialH: true, initialC: true, peepholes: true },
    { op: 'GRU', direction: 'bidirectional', bias: true, initialH: true, attrs: { linear_before_reset: 1 } },
    { op: 'RNN', bias: true, initialH: true },
  ] as Case[]) {
    const { model, feeds, wrt, outputs } = build(c, 'float32', 3);
    // Larger steps and tolerances than float64: float32 finite differences are noisy.
    const r = await checkModelGradient(model, feeds, { wrt, outputs, label: describe(c), maxEntries: 12, step: 1e-2, atol: 2e-3, rtol: 2e-2 });
    assert.ok(r.checked > 0);
  }
});

test('gradCheck on a recurrent node (the helper every rule uses) works through the unrolling', async () => {
  const r = await gradCheck({
    opType: 'GRU',
    attrs: { hidden_size: 2, linear_before_reset: 1 },
    outputs: 2,
    precision: 'float32',
    inputs: [{ shape: [4, 2, 3] }, { shape: [1, 6, 3] }, { shape: [1, 6, 2] }, { shape: [1, 12] }],
  });
  assert.equal(r.analytic.length, 4);
});

async function refusal(c: Case, pattern: RegExp): Promise<void> {
  const { model, facts } = build(c, 'float32');
  assert.throws(
    () => unrollRecurrentNodes(model.graph, facts),
    (e: unknown) => {
      assert.ok(e instanceof GibbonError, String(e));
      assert.equal(e.code, 'unsupported_attribute');
      assert.match(e.message, /'t\/LSTM_node_\d+'|'t\/GRU_node_\d+'|'t\/RNN_node_\d+'/);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('unsupported settings are refused with the node and the attribute named', async () => {
  await refusal({ op: 'LSTM', attrs: { activations: ['Gelu', 'Tanh', 'Tanh'] } }, /activations contains 'Gelu'; supported: Sigmoid, Tanh/);
  await refusal(
    { op: 'RNN', attrs: { activations: ['Affine'], activation_alpha: floats([2]) } },
    /activation 'Affine' needs activation_alpha and activation_beta/,
  );
  await refusal(
    { op: 'LSTM', attrs: { activation_alpha: floats([0.1]) } },
    /activation_alpha\/activation_beta have 1\/0 values but the activations \[Sigmoid, Tanh, Tanh\] take 0\/0/,
  );
  await refusal({ op: 'GRU', attrs: { activations: ['Sigmoid'] } }, /activations=\[Sigmoid\]: expected 2 per direction/);
  await refusal({ op: 'RNN', seqLens: [4, 2] }, /sequence_lens contains 4, outside \[0, 3\]/);
});

test('a sequence length that changes with the batch size is refused by name', async () => {
  // X declared (N, 2, 3) with layout 0: its time axis is the batch axis the probe varies.
  const { model } = build({ op: 'LSTM' }, 'float32');
  model.graph.inputs[0]!.shape = ['N', 2, INPUT];
  await assert.rejects(buildVjpGraph(model, { wrt: ['X'] }), (e: unknown) => {
    assert.ok(e instanceof GibbonError);
    assert.equal(e.code, 'unsupported_attribute');
    assert.match(e.message, /LSTM node 't\/LSTM_node_\d+'.*sequence length \(axis 0 of X 'X'\) changes with the batch size/);
    return true;
  });
});

test('a zero initial state (ConstantOfShape, as PyTorch exports it) is unrolled as the zero state', async () => {
  const plain = build({ op: 'LSTM', direction: 'bidirectional' }, 'float32');
  const { model, feeds } = build({ op: 'LSTM', direction: 'bidirectional' }, 'float32');
  const g = model.graph;
  const b = new GraphBuilder(g, 'z');
  const zeros = b.op('ConstantOfShape', [b.int64s([2, 2, HIDDEN])]);
  const node = g.nodes.find(isRecurrentNode)!;
  node.inputs = [...node.inputs.slice(0, 3), '', '', zeros, zeros];
  const withZeros = cloneModel(model);
  await unrollRecurrent(withZeros);
  await unrollRecurrent(plain.model);
  // Same computation as without initial states: no product with a zero state at the first step.
  const count = (m: ModelIR, op: string): number => m.graph.nodes.filter((n) => n.opType === op).length;
  assert.equal(count(withZeros, 'MatMul'), count(plain.model, 'MatMul'));
  const native = await Session.create(serializeModel(model), { threads: 1 });
  const mine = await Session.create(serializeModel(withZeros), { threads: 1 });
  try {
    const a = await native.run(feeds);
    const u = await mine.run(feeds);
    for (const o of OUTPUTS.LSTM) {
      const x = a[o]!.data as Float32Array;
      const y = u[o]!.data as Float32Array;
      assert.ok(
        x.every((v, i) => Math.abs(v - y[i]!) <= 1e-5),
        `${o} differs`,
      );
    }
  } finally {
    await native.dispose();
    await mine.dispose();
  }
});

test('a zero initializer as initial state is kept (it may be a learned state whose gradient is wanted)', async () => {
  const { model, facts } = build({ op: 'GRU' }, 'float32');
  const g = model.graph;
  const h0 = new GraphBuilder(g, 'z').constant(DT.FLOAT, [1, 2, HIDDEN], new Float32Array(2 * HIDDEN), 'h0');
  facts.set(h0, { dataType: DT.FLOAT, shape: [1, 2, HIDDEN] });
  const node = g.nodes.find(isRecurrentNode)!;
  node.inputs = [...node.inputs.slice(0, 3), '', '', h0];
  unrollRecurrentNodes(g, facts);
  assert.ok(
    g.nodes.some((n) => n.inputs.includes(h0)),
    'the initial state initializer is no longer used',
  );
});
