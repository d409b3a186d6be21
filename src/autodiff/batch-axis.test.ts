/**
 * The batch axis of class-score outputs: the rule itself, and a (T, N, C) sequence output (as a
 * PyTorch CRNN exports it) read through the gradient graph with `outputReduce: 'mean'`: each
 * example's scores are the mean over time of its own frames, and the input gradient of the CE loss
 * agrees with central finite differences per example. Reading axis 0 as the batch, as gibbon once
 * did, averaged every frame over the examples and handed out T frames as if they were examples.
 */
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
import { batchAxisOf } from './batch-axis.js';
import { buildGradientGraph, gradOutputName, LABELS_INPUT, LOGITS_OUTPUT, LOSS_OUTPUT } from './gradient-graph.js';

test('batch axis: the one axis that follows the batch, or the one of the fixed batch size', () => {
  assert.equal(batchAxisOf([null, 10], undefined, 'z'), 0);
  assert.equal(batchAxisOf([32, null, 11], undefined, 'z'), 1);
  assert.equal(batchAxisOf([null, 5, null], undefined, 'z'), 0);
  assert.equal(batchAxisOf([1, 32, 11], 1, 'z'), 0);
  assert.equal(batchAxisOf([null, 5], 1, 'z'), 0);
  assert.equal(batchAxisOf([32, 1, 11], 1, 'z'), 1);
  assert.equal(batchAxisOf([32, 4, 11], 4, 'z'), 1);
  const fails = (shape: (number | null)[], fixed: number | undefined, pattern: RegExp): void =>
    assert.throws(
      () => batchAxisOf(shape, fixed, 'log_probs'),
      (e: GibbonError) => e.code === 'invalid_model' && e.location.option === 'output' && pattern.test(e.message),
    );
  fails([32, 11], undefined, /output 'log_probs' \[32, 11\] does not change size with the batch/);
  fails([32, null, null], undefined, /changes size with the batch on axes 1, 2/);
  fails([32, 11], 1, /cannot tell which axis of output 'log_probs' \[32, 11\] is the batch \(the model's fixed batch is 1\)/);
  fails([32, 1, 1], 1, /cannot tell which axis/);
});

const T = 5;
const F = 4;
const C = 6;
const weights = Float32Array.from({ length: F * C }, (_, i) => Math.sin(1.7 * i + 0.3));

/**
 * x (N, T, F) → per-frame scores tanh(x W) → LogSoftmax over classes, output (T, N, C) (layout
 * 'TNC', transposed like a CRNN's) or (N, T, C) ('NTC'); `batch` is the input's batch dimension.
 */
function sequenceModel(layout: 'TNC' | 'NTC', batch: number | string): ModelIR {
  const graph: Graph = {
    name: 'seq',
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: [batch, T, F] }],
    outputs: [{ name: 'log_probs', dataType: DT.FLOAT, shape: layout === 'TNC' ? ['T', batch, C] : [batch, 'T', C] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph);
  let z = b.op('Tanh', [b.op('MatMul', ['x', b.constant(DT.FLOAT, [F, C], weights, 'w')])]);
  if (layout === 'TNC') z = b.op('Transpose', [z], { perm: [1, 0, 2] });
  b.node('LogSoftmax', [z], { axis: 2 }, { outputNames: ['log_probs'] });
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })] }),
    graph,
    opset: 13,
  };
}

/** The expected class scores of one example: the mean over time of its log-probabilities. */
function expectedScores(x: Float32Array, n: number): number[] {
  const mean = new Array<number>(C).fill(0);
  for (let t = 0; t < T; t++) {
    const z = Array.from({ length: C }, (_, c) => {
      let s = 0;
      for (let f = 0; f < F; f++) s += x[(n * T + t) * F + f]! * weights[f * C + c]!;
      return Math.tanh(s);
    });
    const lse = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
    for (let c = 0; c < C; c++) mean[c]! += (z[c]! - lse) / T;
  }
  return mean;
}

async function ceGradient(model: ModelIR, x: Float32Array, n: number, labels: number[]) {
  const graph = await buildGradientGraph(model, { wrt: 'input', loss: 'ce', outputReduce: 'mean', inputShapes: { x: [null, T, F] } });
  const session = await Session.create(serializeModel(graph.model), { threads: 1 });
  const run = async (data: Float32Array) => {
    const r = await session.run({
      x: { type: 'float32', data, shape: [n, T, F] },
      [LABELS_INPUT]: { type: 'int64', data: BigInt64Array.from(labels, BigInt), shape: [n] },
    });
    return { loss: r[LOSS_OUTPUT]!, logits: r[LOGITS_OUTPUT]!, grad: r[gradOutputName('x')]! };
  };
  try {
    const base = await run(x);
    // Central differences of each example's own loss along a direction in its own rows.
    const h = 1e-2;
    const row = T * F;
    const fd: { analytic: number; error: number }[] = [];
    for (let i = 0; i < n; i++) {
      const v = Float32Array.from({ length: row }, (_, k) => Math.cos(0.9 * k + i));
      const at = async (sign: number) =>
        (await run(Float32Array.from(x, (xi, k) => (k >= i * row && k < (i + 1) * row ? xi + sign * h * v[k - i * row]! : xi)))).loss.data[i] as number;
      const analytic = v.reduce((a, vk, k) => a + vk * (base.grad.data[i * row + k] as number), 0);
      fd.push({ analytic, error: ((await at(1)) - (await at(-1))) / (2 * h) - analytic });
    }
    return { ...base, fd, numClasses: graph.numClasses };
  } finally {
    await session.dispose();
  }
}

function assertMatchesDifferences(fd: { analytic: number; error: number }, what: string): void {
  assert.ok(Math.abs(fd.error) <= 1e-2 * Math.abs(fd.analytic) + 2e-5, `${what}: gradient ${fd.analytic} differs from finite differences by ${fd.error}`);
}

for (const layout of ['TNC', 'NTC'] as const) {
  test(`a (${layout === 'TNC' ? 'T, N, C' : 'N, T, C'}) output with outputReduce 'mean': per-example scores over time, CE gradient matches finite differences`, async () => {
    const n = 3;
    const x = Float32Array.from({ length: n * T * F }, (_, k) => Math.sin(0.37 * k * k + 1));
    const r = await ceGradient(sequenceModel(layout, 'N'), x, n, [1, 4, 2]);
    assert.equal(r.numClasses, C);
    assert.deepEqual([...r.logits.shape], [n, C]);
    for (let i = 0; i < n; i++) {
      const want = expectedScores(x, i);
      for (let c = 0; c < C; c++)
        assert.ok(Math.abs((r.logits.data[i * C + c] as number) - want[c]!) < 1e-5, `example ${i} class ${c}: ${r.logits.data[i * C + c]} vs ${want[c]}`);
      assertMatchesDifferences(r.fd[i]!, `example ${i}`);
    }
    assert.ok(r.grad.data.some((g) => Math.abs(g as number) > 1e-3));
  });
}

test('a fixed batch of 1 with a (T, 1, C) output reads the size-1 axis as the batch', async () => {
  const x = Float32Array.from({ length: T * F }, (_, k) => Math.cos(0.61 * k));
  const r = await ceGradient(sequenceModel('TNC', 1), x, 1, [3]);
  assert.deepEqual([...r.logits.shape], [1, C]);
  const want = expectedScores(x, 0);
  for (let c = 0; c < C; c++) assert.ok(Math.abs((r.logits.data[c] as number) - want[c]!) < 1e-5);
  assertMatchesDifferences(r.fd[0]!, 'example 0');
});
