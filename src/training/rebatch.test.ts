/** withDynamicBatch: fixed-batch graphs made to take any batch, and refused when their graph relies on the batch. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { ModelIR } from '../onnx/model.js';
import { encodeTensor } from '../onnx/tensor-proto.js';
import { Rng } from '../random.js';
import { withDynamicBatch } from './rebatch.js';
import { makeModel } from './testing/tiny-models.js';
import { Trainable } from './trainable.js';

const rng = new Rng(3);
const weights = Float32Array.from({ length: 8 * 3 }, () => rng.uniformIn(-1, 1));

/** x (1, 2, 4) → Reshape to the constant (1, 8) (as x.view(1, -1) exports) → Gemm → (1, 3), then `tail` on the scores. */
function fixedBatchModel(tail?: (b: Parameters<Parameters<typeof makeModel>[2]>[0], z: string) => string): ModelIR {
  return makeModel([1, 2, 4], 3, (b, param) => {
    b.graph.initializers.set('flat', encodeTensor('flat', DT.INT64, [2], BigInt64Array.of(1n, -1n)));
    const z = b.op('Gemm', [b.op('Reshape', ['input', 'flat']), param('w', [8, 3], weights)]);
    b.node('Identity', [tail ? tail(b, z) : z], {}, { outputNames: ['logits'] });
  });
}

test('a constant Reshape to (1, −1) gets −1 for the batch; the input and outputs take any batch; the original model is left as it was', async () => {
  const original = fixedBatchModel();
  const r = await withDynamicBatch(original);
  assert.equal(r.fixedBatch, 1);
  assert.equal(r.reshapes.length, 1);
  assert.deepEqual(r.model.graph.inputs[0]!.shape, ['batch', 2, 4]);
  assert.deepEqual(original.graph.inputs[0]!.shape, [1, 2, 4]);
  const trainable = await Trainable.create(original, { threads: 1 });
  try {
    const x = Float32Array.from({ length: 5 * 8 }, () => rng.uniform());
    const z = await trainable.logits(x, 5);
    for (let i = 0; i < 5; i++) {
      for (let k = 0; k < 3; k++) {
        const expected = weights.reduce((a, wv, j) => (j % 3 === k ? a + wv * x[i * 8 + Math.floor(j / 3)]! : a), 0);
        assert.ok(Math.abs(z[i * 3 + k]! - expected) < 1e-5, `row ${i}, class ${k}: ${z[i * 3 + k]} vs ${expected}`);
      }
    }
    assert.deepEqual(trainable.exportModel().graph.inputs[0]!.shape, [1, 2, 4]);
  } finally {
    await trainable.dispose();
  }
  const dynamic = await withDynamicBatch(r.model);
  assert.equal(dynamic.fixedBatch, undefined, 'a model with a dynamic batch is returned as it is');
  assert.equal(dynamic.model, r.model);
});

test('graphs that use their batch beyond the input are refused: one that cannot run on 2 rows, one whose rows would mix', async () => {
  const refused = async (model: ModelIR, detail: RegExp): Promise<void> =>
    assert.rejects(
      () => withDynamicBatch(model),
      (e: GibbonError) => e.code === 'unsupported_op' && /fixed batch of 1 that its graph relies on/.test(e.message) && detail.test(e.message),
    );
  // A constant (1, 3) concatenated along the classes: (2, 3) and (1, 3) do not concatenate.
  await refused(
    fixedBatchModel((b, z) =>
      b.op('Slice', [b.op('Concat', [z, b.constant(DT.FLOAT, [1, 3], new Float32Array(3), 'c')], { axis: 1 }), b.int64s([0]), b.int64s([3]), b.int64s([1])]),
    ),
    /does not run on 2 rows/,
  );
  // Scores minus their sum over the batch axis: at batch 1 they are 0; batched, rows would leak into each other.
  await refused(
    fixedBatchModel((b, z) => b.op('Sub', [z, b.op('ReduceSum', [z, b.int64s([0])], { keepdims: 1 })])),
    /changes when rows are batched/,
  );
});
