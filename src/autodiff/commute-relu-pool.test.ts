/**
 * Relu → MaxPool is moved to MaxPool → Relu before differentiation (commute-relu-pool.ts). The
 * graph computes the same logits, and the input gradient equals, element for element, the one of
 * the graph left as it is — checked on inputs full of ties (constant regions whose pre-activations
 * are equal across a window, positive and negative), where the first-maximum and Relu'(0) = 0
 * conventions decide. Keeping the Relu's output (differentiating with respect to it too) blocks
 * the rewrite, which gives the unrewritten gradient to compare with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import { serializeModel, type ModelIR } from '../onnx/model.js';
import { Session } from '../runtime/session.js';
import { commuteReluPool } from './commute-relu-pool.js';
import { buildGradientGraph, gradOutputName, LABELS_INPUT, LOGITS_OUTPUT } from './gradient-graph.js';

const [N, C, H, W, K] = [3, 4, 8, 8, 5];

/** x (N, 1, 8, 8) → Conv 3×3 pad 1 (biases of both signs) → Relu → MaxPool 2×2 → Flatten → Gemm (5 classes). */
function model(): ModelIR {
  const graph: Graph = {
    name: 'm',
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: ['N', 1, H, W] }],
    outputs: [],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph);
  const w = b.constant(
    DT.FLOAT,
    [C, 1, 3, 3],
    Float32Array.from({ length: C * 9 }, (_, i) => Math.sin(2.3 * i)),
    'w',
  );
  const bias = b.constant(DT.FLOAT, [C], Float32Array.of(0.5, -0.25, 0, 0.125), 'bias');
  const conv = b.op('Conv', ['x', w, bias], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const relu = b.op('Relu', [conv], {}, { name: 'fwd_relu' });
  const pooled = b.op('MaxPool', [relu], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'fwd_pool' });
  const flat = b.op('Flatten', [pooled], { axis: 1 });
  const fc = b.constant(
    DT.FLOAT,
    [(C * H * W) / 4, K],
    Float32Array.from({ length: (C * H * W * K) / 4 }, (_, i) => Math.cos(0.7 * i)),
    'fc',
  );
  b.node('MatMul', [flat, fc], {}, { outputNames: ['logits'] });
  graph.outputs.push({ name: 'logits', dataType: DT.FLOAT, shape: ['N', K] });
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })] }),
    graph,
    opset: 17,
  };
}

/** Images that are mostly constant (0 or 1) with a few distinct pixels: many tied windows. */
const x = Float32Array.from({ length: N * H * W }, (_, i) => (i % 17 === 0 ? Math.sin(i) : i % 64 < 32 ? 0 : 1));
const labels = [0, 3, 4];

async function run(wrt: readonly string[]): Promise<{ grad: Float32Array; logits: Float32Array; ops: string[] }> {
  const g = await buildGradientGraph(model(), { wrt, loss: 'ce' });
  const session = await Session.create(serializeModel(g.model), { threads: 1 });
  try {
    const r = await session.run({
      x: { type: 'float32', data: x, shape: [N, 1, H, W] },
      [LABELS_INPUT]: { type: 'int64', data: BigInt64Array.from(labels, BigInt), shape: [N] },
    });
    const forward = g.model.graph.nodes.filter((n) => n.name.includes('fwd_')).map((n) => n.opType);
    return { grad: r[gradOutputName('x')]!.data as Float32Array, logits: r[LOGITS_OUTPUT]!.data as Float32Array, ops: forward };
  } finally {
    await session.dispose();
  }
}

test('Relu → MaxPool is commuted before differentiation: same logits, the same input gradient at ties', async () => {
  const reluOut = model().graph.nodes.find((n) => n.opType === 'Relu')!.outputs[0]!;
  const commuted = await run(['x']);
  const kept = await run(['x', reluOut]);
  assert.deepEqual(commuted.ops, ['MaxPool', 'Relu']);
  assert.deepEqual(kept.ops, ['Relu', 'MaxPool']);
  assert.deepEqual([...commuted.logits], [...kept.logits]);
  assert.ok(kept.grad.some((v) => v !== 0));
  assert.deepEqual([...commuted.grad], [...kept.grad]);
});

test('commuteReluPool leaves a Relu read by more than the pool, or kept, in place', () => {
  const g = model().graph;
  const reluOut = g.nodes.find((n) => n.opType === 'Relu')!.outputs[0]!;
  assert.equal(commuteReluPool(g, new Set([reluOut])), 0);
  g.nodes.push({ name: 'extra', opType: 'Identity', domain: '', inputs: [reluOut], outputs: ['extra_out'], attributes: [] });
  assert.equal(commuteReluPool(g, new Set()), 0);
  const fresh = model().graph;
  assert.equal(commuteReluPool(fresh, new Set()), 1);
  assert.deepEqual(
    fresh.nodes.map((n) => n.opType),
    ['Conv', 'MaxPool', 'Relu', 'Flatten', 'MatMul'],
  );
});
