/** BPDA with a user surrogate: exact forward, the surrogate's derivative on the backward pass. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import { serializeModel, type ModelIR } from '../onnx/model.js';
import { Session } from '../runtime/session.js';
import type { NonDifferentiablePolicy } from './surrogates.js';
import { gradOutputName } from './gradient-graph.js';
import { buildVjpGraph, cotangentInputName } from './vjp-graph.js';

const X = Float32Array.of(0.11, 0.52, 0.33, 0.94, 0.25, 0.76);
const K = 4;

function modelOf(name: string, inputs: string[], build: (b: GraphBuilder) => void, outputs = ['y']): ModelIR {
  const graph: Graph = {
    name,
    nodes: [],
    inputs: inputs.map((i) => ({ name: i, dataType: DT.FLOAT, shape: ['n', 3] })),
    outputs: outputs.map((o) => ({ name: o, dataType: DT.FLOAT, shape: ['n', 3] })),
    initializers: new Map(),
    valueInfo: [],
  };
  build(new GraphBuilder(graph));
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] }),
    graph,
    opset: 18,
  };
}

/** y = 3·Round(K·x)/K + Round(x) (two Round nodes: 'round_k' and 'round_1'). */
const quantised = modelOf('q', ['x'], (b) => {
  const scaled = b.op('Mul', ['x', b.scalar(K)]);
  const [r] = b.node('Round', [scaled], {}, { outputNames: ['rk'] });
  b.graph.nodes.at(-1)!.name = 'round_k';
  b.node('Round', ['x'], {}, { outputNames: ['r1'] });
  b.graph.nodes.at(-1)!.name = 'round_1';
  const left = b.op('Mul', [b.op('Div', [r!, b.scalar(K)]), b.scalar(3)]);
  b.node('Add', [left, 'r1'], {}, { outputNames: ['y'] });
});

/** g(t) = t − sin(2πt)/(2π): equals Round at integers, g'(t) = 1 − cos(2πt). */
const smoothRound = modelOf('smooth-round', ['t'], (b) => {
  const twoPi = b.scalar(2 * Math.PI);
  b.node('Sub', ['t', b.op('Div', [b.op('Sin', [b.op('Mul', ['t', twoPi])]), twoPi])], {}, { outputNames: ['y'] });
});

/** g(t) = t, written as a model: a surrogate equal to straight-through. */
const identityModel = modelOf('identity', ['t'], (b) => void b.node('Identity', ['t'], {}, { outputNames: ['y'] }));

async function run(policy: NonDifferentiablePolicy): Promise<{ y: Float32Array; grad: Float32Array }> {
  const vjp = await buildVjpGraph(quantised, { wrt: ['x'], nonDifferentiable: policy });
  const s = await Session.create(serializeModel(vjp.model), { threads: 1 });
  try {
    const r = await s.run({
      x: { type: 'float32', data: X, shape: [2, 3] },
      [cotangentInputName('y')]: { type: 'float32', data: new Float32Array(6).fill(1), shape: [2, 3] },
    });
    return { y: r['y']!.data as Float32Array, grad: r[gradOutputName('x')]!.data as Float32Array };
  } finally {
    await s.dispose();
  }
}

const exactY = Array.from(X, (x) => (3 * Math.round(K * x)) / K + Math.round(x));

test("a surrogate for every Round: the forward output is exact, the gradient is the surrogate's", async () => {
  const { y, grad } = await run({ surrogates: [{ opType: 'Round', model: smoothRound }] });
  Array.from(y).forEach((v, i) => assert.ok(Math.abs(v - exactY[i]!) < 1e-6, `y[${i}] = ${v}, expected ${exactY[i]}`));
  // d/dx [3·g(Kx)/K + g(x)] = 3·(1 − cos(2πKx)) + (1 − cos(2πx)).
  X.forEach((x, i) => {
    const expected = 3 * (1 - Math.cos(2 * Math.PI * K * x)) + (1 - Math.cos(2 * Math.PI * x));
    assert.ok(Math.abs(grad[i]! - expected) < 1e-4, `grad[${i}] = ${grad[i]}, expected ${expected}`);
  });
});

test('a catch-all surrogate applies to every non-differentiable node; a named one wins over it', async () => {
  const all = await run({ surrogates: [{ model: smoothRound }] });
  const named = await run({ surrogates: [{ node: 'round_1', model: identityModel }, { model: smoothRound }] });
  X.forEach((x, i) => {
    const viaK = 3 * (1 - Math.cos(2 * Math.PI * K * x));
    assert.ok(Math.abs(all.grad[i]! - (viaK + 1 - Math.cos(2 * Math.PI * x))) < 1e-4);
    assert.ok(Math.abs(named.grad[i]! - (viaK + 1)) < 1e-4, `${named.grad[i]} vs ${viaK + 1}`);
  });
});

test('a surrogate for one node by name; the other follows `otherwise`', async () => {
  const zero = await run({ surrogates: [{ node: 'round_k', model: smoothRound }] });
  const identity = await run({ surrogates: [{ node: 'round_k', model: smoothRound }], otherwise: 'identity' });
  X.forEach((x, i) => {
    const viaSurrogate = 3 * (1 - Math.cos(2 * Math.PI * K * x));
    assert.ok(Math.abs(zero.grad[i]! - viaSurrogate) < 1e-4, `zero: ${zero.grad[i]} vs ${viaSurrogate}`);
    assert.ok(Math.abs(identity.grad[i]! - (viaSurrogate + 1)) < 1e-4, `identity: ${identity.grad[i]} vs ${viaSurrogate + 1}`);
  });
});

test('surrogates that match nothing, a differentiable node, or have the wrong form are refused', async () => {
  const fails = async (policy: NonDifferentiablePolicy, pattern: RegExp): Promise<void> => {
    await assert.rejects(run(policy), (e: unknown) => e instanceof GibbonError && pattern.test(e.message));
  };
  await fails({ surrogates: [{ opType: 'Sign', model: smoothRound }] }, /no Sign node; its non-differentiable nodes: Round 'round_k', Round 'round_1'/);
  await fails({ surrogates: [{ node: 'nowhere', model: smoothRound }] }, /no node 'nowhere'/);
  const addNode = quantised.graph.nodes.find((n) => n.opType === 'Add')!.name;
  await fails({ surrogates: [{ node: addNode, model: smoothRound }] }, /is differentiable/);
  const twoInputs = modelOf('two', ['a', 'b'], (b) => void b.node('Add', ['a', 'b'], {}, { outputNames: ['y'] }));
  await fails({ surrogates: [{ opType: 'Round', model: twoInputs, label: 'two.onnx' }] }, /two\.onnx must have one input and one output/);
  const reshaping = modelOf('flat', ['t'], (b) => void b.node('ReduceSum', ['t', b.int64s([1])], { keepdims: 1 }, { outputNames: ['y'] }));
  await fails({ surrogates: [{ opType: 'Round', model: reshaping }] }, /a surrogate must keep the shape/);
});
