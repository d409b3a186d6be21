import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { encodeTensor } from '../onnx/tensor-proto.js';
import { buildGradientGraph } from './gradient-graph.js';
import { fixedBatchOf, MAX_INPUT_ELEMENTS, probeValues } from './probe.js';

/** x (shape) → a chain of `depth` Relu(x·W) layers of width `width` → logits (classes). */
function chain(shape: (number | string)[], depth: number, width: number, classes = 3): ModelIR {
  const graph: Graph = {
    name: 'chain',
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: [shape[0]!, classes] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 't');
  const features = shape[shape.length - 1] as number;
  let v = 'x';
  let n = features;
  for (let i = 0; i < depth; i++) {
    const w = `w${i}`;
    graph.initializers.set(
      w,
      encodeTensor(
        w,
        DT.FLOAT,
        [n, width],
        Float32Array.from({ length: n * width }, (_, k) => Math.sin(k + i) / Math.sqrt(n)),
      ),
    );
    v = b.op('Relu', [b.op('MatMul', [v, w])]);
    n = width;
  }
  graph.initializers.set(
    'wo',
    encodeTensor(
      'wo',
      DT.FLOAT,
      [n, classes],
      Float32Array.from({ length: n * classes }, (_, k) => Math.cos(k)),
    ),
  );
  b.node('MatMul', [v, 'wo'], {}, { outputNames: ['logits'] });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })] });
  return { proto, graph, opset: 17 };
}

test('a dynamic batch is found by two runs (batches 1 and 2); every value gets a shape', async () => {
  const m = chain(['N', 5], 40, 7);
  const facts = await probeValues(m);
  assert.deepEqual(facts.get('logits')!.shape, [null, 3]);
  for (const n of m.graph.nodes) for (const o of n.outputs) assert.ok(facts.has(o), `no facts for ${o}`);
  assert.equal(fixedBatchOf(m), undefined);
});

test('a fixed batch of 1 is probed once at that batch, labels at the same size', async () => {
  const m = chain([1, 5], 2, 4);
  assert.equal(fixedBatchOf(m), 1);
  const facts = await probeValues(m);
  assert.deepEqual(facts.get('logits')!.shape, [1, 3]);
  // The gradient graph of a fixed-batch model builds (labels were probed at batch 1, not 2 and 3).
  const g = await buildGradientGraph(m, { wrt: 'input', loss: 'ce' });
  assert.deepEqual(g.inputShape, [1, 5]);
});

test('a declared size too large to allocate is refused before any run, naming the input', async () => {
  const m = chain(['N', 20000, 20000], 1, 2);
  await assert.rejects(probeValues(m), (e: GibbonError) => e instanceof GibbonError && /input 'x' would be \[1, 20000, 20000\]/.test(e.message));
  assert.ok(20000 * 20000 > MAX_INPUT_ELEMENTS);
});

test('a symbolic non-batch dimension without a size names the input and the option', async () => {
  const m = chain(['N', 'H', 5], 1, 2);
  await assert.rejects(
    probeValues(m),
    (e: GibbonError) => /input 'x' has a symbolic dimension 1 \('H'\)/.test(e.message) && e.location.option === 'inputShapes',
  );
  const facts = await probeValues(m, { inputShapes: { x: [null, 6, 5] } });
  assert.deepEqual(facts.get('logits')!.shape, [null, 6, 3]);
});

test('values can be probed one at a time (the class-score probe fetches only what it asks for)', async () => {
  const m = chain(['N', 5], 3, 4);
  const facts = await probeValues(m, { values: ['logits'] });
  assert.deepEqual(
    [...facts.keys()].filter((k) => !m.graph.initializers.has(k)),
    ['logits'],
  );
});
