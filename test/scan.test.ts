/**
 * Scan (tools/controlflow/make_scan_models.py): onnxruntime's forward agrees with a numpy reference,
 * the gradient graph unrolls the Scan (forward and reversed scan inputs on axis 1, a reversed scan
 * output on a negative axis, a state, a Constant inside the body, weights read from the outer scope)
 * and its gradients match central finite differences in float64, for the input and for a weight
 * used only inside the body.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkModelGradient } from '../src/autodiff/testing/model-gradcheck.js';
import { buildVjpGraph } from '../src/autodiff/vjp-graph.js';
import { loadModel, serializeModel } from '../src/onnx/model.js';
import { decodeTensor } from '../src/onnx/tensor-proto.js';
import { Session } from '../src/runtime/session.js';
import { readNpy } from '../src/tensor/npy.js';
import type { AnyTensor } from '../src/tensor/tensor.js';

const dir = join(process.cwd(), 'test', 'fixtures', 'controlflow');
const model = loadModel(join(dir, 'scan_rnn_op11.onnx'));
const npy = (name: string): AnyTensor => {
  const t = readNpy(join(dir, `scan_rnn_${name}.npy`));
  return { type: 'float64', data: t.data as Float64Array, shape: [...t.shape] };
};

test('Scan: onnxruntime runs the fixture as the numpy reference does', async () => {
  const s = await Session.create(serializeModel(model), { threads: 1 });
  try {
    const out = await s.run({ x: npy('x') });
    for (const name of ['h_final', 'Y', 'Y2']) {
      const want = npy(name);
      assert.deepEqual([...out[name]!.shape], want.shape, name);
      const got = out[name]!.data as Float64Array;
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - (want.data as Float64Array)[i]!) < 1e-9, `${name}[${i}]`);
    }
  } finally {
    await s.dispose();
  }
});

test('Scan is unrolled for gradients: input and in-body weight gradients match finite differences', async () => {
  const vjp = await buildVjpGraph(model, { wrt: ['x', 'Wh'] });
  assert.equal(vjp.model.graph.nodes.filter((n) => n.opType === 'Scan').length, 0, 'the gradient graph still holds a Scan');
  // The weight Wh becomes an input, so the finite differences can move it.
  const wh = model.graph.initializers.get('Wh')!;
  const asInput = { ...model, graph: { ...model.graph, initializers: new Map([...model.graph.initializers].filter(([k]) => k !== 'Wh')) } };
  asInput.graph.inputs = [...model.graph.inputs, { name: 'Wh', dataType: wh.dataType, shape: wh.dims.map(Number) }];
  const whValue: AnyTensor = { type: 'float64', data: decodeTensor(wh).data as Float64Array, shape: wh.dims.map(Number) };
  const r = await checkModelGradient(asInput, { x: npy('x'), Wh: whValue }, { wrt: ['x', 'Wh'], label: 'scan_rnn_op11', maxEntries: 200 });
  assert.equal(r.checked, 30 + 16);
  assert.ok(r.maxAbsError < 1e-6, `max error ${r.maxAbsError}`);
  assert.ok(
    r.analytic.every((g) => g.some((v) => Math.abs(v) > 1e-3)),
    'a gradient is identically zero',
  );
});
