/** Building the bound graph: an op without a rule or an unsound setting is refused naming the node; weights fed as inputs give the same bounds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../../errors.js';
import { float } from '../../onnx/attributes.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import { serializeModel, type ModelIR } from '../../onnx/model.js';
import { decodeTensor } from '../../onnx/tensor-proto.js';
import { Rng } from '../../random.js';
import { Session } from '../../runtime/session.js';
import { buildArchitecture } from '../../training/architectures.js';
import type { AnyTensor } from '../../tensor/tensor.js';
import { buildIntervalGraph, IBP_LABELS_INPUT, X_LOWER_INPUT, X_UPPER_INPUT } from './interval-graph.js';
import { emptyGraph, modelOf, runBounds, type Bounds } from './testing/graphs.js';

test('an op without an interval rule fails naming the node and op type', async () => {
  const g = emptyGraph([3], 2);
  const b = new GraphBuilder(g, 't');
  const h = b.op('Gemm', ['input', b.constant(DT.FLOAT, [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6))]);
  g.nodes.push({ name: 'wavy', opType: 'Sin', domain: '', inputs: [h], outputs: ['logits'], attributes: [] });
  await assert.rejects(buildIntervalGraph(modelOf(g)), (e: unknown) => {
    assert.ok(e instanceof GibbonError);
    assert.equal(e.code, 'unsupported_op');
    assert.deepEqual(e.location.node, { name: 'wavy', opType: 'Sin' });
    assert.match(e.message, /no interval bound rule for op 'Sin' at node 'wavy'; supported ops: .*Conv.*/);
    return true;
  });
});

test('interval rules refuse unsound settings, naming the node', async () => {
  const cases: { build: (b: GraphBuilder) => void; message: RegExp; node: string; op: string }[] = [
    {
      // A weight computed from the input (x·xᵀ) is not affine.
      build: (b) => b.node('MatMul', ['input', b.op('Transpose', ['input'], {}, { name: 'tr' })], {}, { outputNames: ['logits'], name: 'selfdot' }),
      message: /MatMul node 't\/selfdot_node_\d+': both operands depend on the input/,
      node: 'selfdot',
      op: 'MatMul',
    },
    {
      build: (b) =>
        b.node(
          'LeakyRelu',
          [b.op('MatMul', ['input', b.constant(DT.FLOAT, [3, 2], new Float32Array(6))])],
          { alpha: float(-0.5) },
          { outputNames: ['logits'], name: 'leaky' },
        ),
      message: /LeakyRelu node 't\/leaky_node_\d+': alpha=-0.5 makes it non-monotone/,
      node: 'leaky',
      op: 'LeakyRelu',
    },
  ];
  for (const c of cases) {
    const g = emptyGraph([3], 2);
    g.inputs[0]!.shape = [2, 3];
    g.outputs[0]!.shape = null;
    const b = new GraphBuilder(g, 't');
    c.build(b);
    await assert.rejects(buildIntervalGraph(modelOf(g)), (e: unknown) => {
      assert.ok(e instanceof GibbonError, String(e));
      assert.equal(e.code, 'unsupported_op');
      assert.equal(e.location.node?.opType, c.op);
      assert.ok(e.location.node?.name.includes(`${c.node}_node`), e.location.node?.name);
      assert.match(e.message, c.message);
      return true;
    });
  }
});

test('weights fed as inputs (training): the same bounds and elided margins as with constant weights', async () => {
  const model = buildArchitecture('cnn', { seed: 4 });
  const params = [...model.graph.initializers.keys()];
  const constant = await buildIntervalGraph(model);
  const fed = await buildIntervalGraph(model, { paramInputs: params });
  assert.ok(constant.elided && fed.elided);
  assert.deepEqual(
    fed.model.graph.inputs.map((v) => v.name),
    [X_LOWER_INPUT, X_UPPER_INPUT, IBP_LABELS_INPUT, ...params],
  );
  assert.ok(params.every((p) => !fed.model.graph.initializers.has(p)));
  const rng = new Rng(9);
  const n = 5;
  const x = Float32Array.from({ length: n * 784 }, () => rng.uniform());
  const weights = Object.fromEntries(
    params.map((p) => {
      const t = model.graph.initializers.get(p)!;
      return [p, { type: 'float32' as const, data: decodeTensor(t).data as Float32Array, shape: t.dims.map(Number) }];
    }),
  );
  const run = async (m: ModelIR, extra: Record<string, AnyTensor>): Promise<Bounds> => {
    const s = await Session.create(serializeModel(m), { threads: 1, label: 'bounds' });
    try {
      const lower = x.map((v) => Math.max(0, v - 0.05));
      const upper = x.map((v) => Math.min(1, v + 0.05));
      return await runBounds(s, lower, upper, [n, 1, 28, 28], [0, 3, 9, 1, 7], extra);
    } finally {
      await s.dispose();
    }
  };
  const a = await run(constant.model, {});
  const b = await run(fed.model, weights);
  for (const name of ['lower', 'upper', 'margin'] as const) {
    const u = a[name];
    const v = b[name];
    assert.equal(u.length, n * 10);
    let worst = 0;
    for (let i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs(u[i]! - v[i]!) / (1 + Math.abs(u[i]!)));
    assert.ok(worst < 1e-5, `${name}: relative difference ${worst}`);
  }
});
