import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../../errors.js';
import { bitDepth } from './bit-depth.js';
import { roundHalfEven, runModel, transformModel, uniformTensor } from './testing/transform-model.js';

test('bit-depth b equals Round(x·(2^b − 1))/(2^b − 1) in plain JS, for b = 1, 3, 8', async () => {
  const x = uniformTensor([3, 2, 5, 4], 7);
  for (const bits of [1, 3, 8]) {
    const y = await runModel(transformModel([bitDepth(bits)], [2, 5, 4]), x);
    assert.deepEqual(y.shape, [3, 2, 5, 4]);
    const k = 2 ** bits - 1;
    const expected = Float32Array.from(x.data, (v) => roundHalfEven(Math.fround(v * k)) / k);
    assert.deepEqual([...y.data], [...expected], `bits ${bits}`);
    assert.equal(new Set(y.data).size <= k + 1, true);
  }
});

test('bit-depth rejects a non-integer or out-of-range depth, naming the option', () => {
  for (const bad of [0, 17, 2.5]) {
    assert.throws(
      () => bitDepth(bad),
      (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && /bit depth must be an integer from 1 to 16; got/.test(e.message),
    );
  }
});
