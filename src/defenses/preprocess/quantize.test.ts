import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../../errors.js';
import { bitDepth } from './bit-depth.js';
import { quantize } from './quantize.js';
import { roundHalfEven, runModel, transformModel, uniformTensor } from './testing/transform-model.js';

test('quantize L equals the plain-JS uint8 quantiser Round(x/s)·s, s = float32(1/(L − 1)), for L = 2, 16, 100, 256', async () => {
  const x = uniformTensor([2, 3, 4, 5], 3);
  for (const levels of [2, 16, 100, 256]) {
    const y = await runModel(transformModel([quantize(levels)], [3, 4, 5]), x);
    assert.deepEqual(y.shape, [2, 3, 4, 5]);
    const s = Math.fround(1 / (levels - 1));
    const expected = Float32Array.from(x.data, (v) => Math.fround(Math.min(255, Math.max(0, roundHalfEven(Math.fround(v / s)))) * s));
    assert.deepEqual([...y.data], [...expected], `levels ${levels}`);
    assert.ok(new Set(y.data).size <= levels);
  }
});

test('quantize(16) and bitDepth(4) agree to one float32 ulp on random images', async () => {
  const x = uniformTensor([4, 1, 8, 8], 9);
  const q = await runModel(transformModel([quantize(16)], [1, 8, 8]), x);
  const d = await runModel(transformModel([bitDepth(4)], [1, 8, 8]), x);
  let worst = 0;
  for (let i = 0; i < q.data.length; i++) worst = Math.max(worst, Math.abs(q.data[i]! - d.data[i]!));
  assert.ok(worst <= 1.2e-7, `max |quantize − bitDepth| ${worst}`);
});

test('quantize rejects levels outside 2…256', () => {
  for (const bad of [1, 257, 3.5]) {
    assert.throws(
      () => quantize(bad),
      (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && /quantisation levels must be an integer from 2 to 256/.test(e.message),
    );
  }
});
