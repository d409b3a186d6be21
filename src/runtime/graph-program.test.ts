/** GraphProgram: batches (a constant batch padded), gathered rows without the padding, lazy builds, dispose. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Dim, Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { batchesOf, GraphProgram, GraphPrograms, type Batch } from './graph-program.js';

/** y = 2·x (B, 3) and s = Σ_j x_j (B), for a batch dimension `batch` (a number: a constant batch). */
function model(batch: Dim): ModelIR {
  const graph: Graph = {
    name: 'double',
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: [batch, 3] }],
    outputs: [
      { name: 'y', dataType: DT.FLOAT, shape: [batch, 3] },
      { name: 's', dataType: DT.FLOAT, shape: [batch] },
    ],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph);
  b.node('Mul', ['x', b.scalar(2)], {}, { outputNames: ['y'] });
  b.node('ReduceSum', ['x', b.int64s([1])], { keepdims: 0 }, { outputNames: ['s'] });
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })] }),
    graph,
    opset: 13,
  };
}

const x = Float32Array.from({ length: 15 }, (_, i) => i + 1); // 5 examples of 3 values

function feeds(fed: number[]): (b: Batch) => Record<string, { type: 'float32'; data: Float32Array; shape: number[] }> {
  return ({ start, end, padded }) => {
    fed.push(padded);
    const data = new Float32Array(padded * 3);
    data.set(x.subarray(start * 3, end * 3));
    return { x: { type: 'float32', data, shape: [padded, 3] } };
  };
}

test('batches: a constant batch pads the last one; otherwise the last one is short; a bad size is named', () => {
  assert.deepEqual(batchesOf(5, 256, 2), [
    { start: 0, end: 2, padded: 2 },
    { start: 2, end: 4, padded: 2 },
    { start: 4, end: 5, padded: 2 },
  ]);
  assert.deepEqual(
    batchesOf(5, 2).map((b) => b.padded),
    [2, 2, 1],
  );
  assert.deepEqual(batchesOf(0, 4), []);
  assert.throws(
    () => batchesOf(3, 0),
    (e: unknown) => e instanceof GibbonError && e.location.option === 'batchSize' && /positive integer; got 0/.test(e.message),
  );
});

for (const [what, batch, batchSize, runs] of [
  ['a constant batch of 2', 2, undefined, [2, 2, 2]],
  ['a dynamic batch, 2 per run', 'N', 2, [2, 2, 1]],
] as const) {
  test(`${what}: every example's rows are gathered in order and the padding is dropped`, async () => {
    const fed: number[] = [];
    const program = await GraphProgram.compile(model(batch), { threads: 1, batchSize, fixedBatch: typeof batch === 'number' ? batch : undefined });
    const seen: number[] = [];
    const r = await program.runBatches(5, feeds(fed), { gather: ['y', 's'], each: (out, b) => seen.push(out.y!.shape[0]!, b.end - b.start) });
    assert.deepEqual(fed, runs);
    assert.deepEqual(
      Array.from(r.y!),
      Array.from(x, (v) => 2 * v),
    );
    assert.deepEqual(Array.from(r.s!), [6, 15, 24, 33, 42]);
    assert.deepEqual(
      seen,
      runs.flatMap((p, i) => [p, i < 2 ? 2 : 1]),
    );
    // No examples: empty outputs, no run.
    const none = await program.runBatches(0, feeds(fed), { gather: ['y'] });
    assert.equal(none.y!.length, 0);
    assert.equal(fed.length, 3);
    await program.dispose();
    await program.dispose();
    await assert.rejects(program.run({}), /already disposed/);
  });
}

test('a lazy program builds once, on first use; a failed build fails every use and still disposes', async () => {
  let builds = 0;
  const program = GraphProgram.lazy(
    async () => {
      builds++;
      return { model: model('N'), info: 'built' };
    },
    { threads: 1 },
  );
  assert.equal(builds, 0);
  assert.equal(await program.info(), 'built');
  const r = await program.run({ x: { type: 'float32', data: x.subarray(0, 3), shape: [1, 3] } }, ['s']);
  assert.deepEqual(Array.from(r.s!.data as Float32Array), [6]);
  assert.deepEqual(Object.keys(r), ['s']);
  assert.equal(builds, 1);
  await program.dispose();

  let attempts = 0;
  const failing = GraphProgram.lazy(async () => {
    attempts++;
    throw new GibbonError('unsupported_op', 'no rule for Foo');
  });
  await assert.rejects(failing.info(), /no rule for Foo/);
  await assert.rejects(failing.runBatches(2, feeds([]), { gather: ['y'] }), /no rule for Foo/);
  assert.equal(attempts, 1);
  await failing.dispose();
});

test('GraphPrograms: one program per key, labelled; none after dispose', async () => {
  const programs = new GraphPrograms<number>({ threads: 1, fixedBatch: 2 });
  let builds = 0;
  const build = async (): Promise<{ model: ModelIR; info: number }> => ({ model: model(2), info: ++builds });
  const a = programs.get('a', 'model (a)', build);
  assert.equal(programs.get('a', 'model (a)', build), a);
  const b = programs.get('b', 'model (b)', build);
  assert.notEqual(a, b);
  assert.equal(a.label, 'model (a)');
  assert.equal(b.fixedBatch, 2);
  assert.deepEqual([await a.info(), await b.info(), await a.info()], [1, 2, 1]);
  await programs.dispose();
  await assert.rejects(a.info(), /already disposed/);
  assert.throws(() => programs.get('c', 'model (c)', build), /already disposed/);
});
