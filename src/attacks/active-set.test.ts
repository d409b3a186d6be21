/** ActiveSet: one shrink drops the same examples from the indices and from every state entry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActiveSet, unflagged } from './active-set.js';
import type { Tensor } from '../tensor/tensor.js';

function batch(): ActiveSet<{ xk: Tensor; loss: Float32Array; labels: Int32Array; targets: Int32Array | undefined }> {
  // Examples 3, 5, 8 and 9 of a batch, rows of two values each.
  return new ActiveSet(Int32Array.from([3, 5, 8, 9]), {
    xk: { data: Float32Array.from([30, 31, 50, 51, 80, 81, 90, 91]), shape: [4, 2] },
    loss: Float32Array.from([0.3, 0.5, 0.8, 0.9]),
    labels: Int32Array.from([1, 2, 3, 4]),
    targets: undefined,
  });
}

test('dropFlagged removes the flagged rows from indices, tensors and per-example arrays alike', () => {
  const set = batch();
  assert.equal(set.dropFlagged(Uint8Array.from([0, 1, 0, 1])), 2);
  assert.deepEqual([...set.examples], [3, 8]);
  assert.deepEqual([...set.state.xk.data], [30, 31, 80, 81]);
  assert.deepEqual(set.state.xk.shape, [2, 2]);
  assert.deepEqual([...set.state.loss], [0.30000001192092896, 0.800000011920929]);
  assert.deepEqual([...set.state.labels], [1, 3]);
  assert.equal(set.state.targets, undefined);
});

test('retain tests the batch index and the position; keeping all leaves every entry untouched', () => {
  const set = batch();
  const xk = set.state.xk;
  assert.equal(
    set.retain(() => true),
    4,
  );
  assert.equal(set.state.xk, xk, 'nothing dropped: no copy');
  assert.equal(
    set.retain((e, i) => e !== 5 && i !== 3),
    2,
  );
  assert.deepEqual([...set.examples], [3, 8]);
  assert.deepEqual([...set.state.labels], [1, 3]);
  assert.equal(set.dropFlagged(Uint8Array.from([1, 1])), 0);
  assert.equal(set.state.xk.shape[0], 0);
});

test('unflagged lists the positions whose flag is 0', () => {
  assert.deepEqual([...unflagged(Uint8Array.from([1, 0, 0, 1, 0]))], [1, 2, 4]);
});
