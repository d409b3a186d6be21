import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkModelGradient } from '../../autodiff/testing/model-gradcheck.js';
import { GibbonError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import type { Tensor } from '../../tensor/tensor.js';
import { medianFilter } from './median-filter.js';
import { runModel, transformModel, uniformTensor } from './testing/transform-model.js';

/** scipy.ndimage.median_filter(x, size=(1, 1, k, k), mode='nearest') in plain JS. */
function medianReference(x: Tensor, k: number): Float32Array {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float32Array(x.data.length);
  const lead = Math.floor(k / 2);
  const clamp = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi - 1);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const window: number[] = [];
        for (let di = 0; di < k; di++) for (let dj = 0; dj < k; dj++) window.push(x.data[p * h * w + clamp(i - lead + di, h) * w + clamp(j - lead + dj, w)]!);
        window.sort((a, b) => a - b);
        out[p * h * w + i * w + j] = window[Math.floor((k * k) / 2)]!;
      }
    }
  }
  return out;
}

test('median k equals the plain-JS median (index ⌊k²/2⌋, edge padding, even windows reach up/left) for k = 1, 2, 3, 4, 5', async () => {
  const x = uniformTensor([2, 3, 7, 6], 11);
  for (const k of [1, 2, 3, 4, 5]) {
    const y = await runModel(transformModel([medianFilter(k)], [3, 7, 6]), x);
    assert.deepEqual(y.shape, [2, 3, 7, 6], `k ${k}`);
    assert.deepEqual([...y.data], [...medianReference(x, k)], `k ${k}`);
  }
});

test('median 2×2 of two bright pixels side by side: a window keeps them only when it holds both (the upper middle value)', async () => {
  // A 2×2 window holding one 1 and three 0s has the ascending order 0, 0, 0, 1: index 2 is 0.
  // One holding both (0, 0, 1, 1) picks index 2 → 1: the windows ending at (1, 2) and (2, 2).
  const x: Tensor = { data: new Float32Array(16), shape: [1, 1, 4, 4] };
  x.data[5] = 1;
  x.data[6] = 1;
  const y = await runModel(transformModel([medianFilter(2)], [1, 4, 4]), x);
  assert.deepEqual(
    [...y.data].map((v, i) => (v === 1 ? i : -1)).filter((i) => i >= 0),
    [6, 10],
  );
});

test('median: gradients through the defended graph match finite differences (k = 2 and 3)', async () => {
  // Distinct values 1/72 apart, so a step of 4e-3 never reorders a window.
  const n = 2 * 2 * 6 * 6;
  const order = uniformTensor([n], 5).data;
  const ranks = [...order.keys()].sort((a, b) => order[a]! - order[b]!);
  const data = new Float32Array(n);
  ranks.forEach((p, r) => (data[p] = r / n));
  for (const k of [2, 3]) {
    const feeds = { x: { type: 'float32' as const, data: Float32Array.from(data), shape: [2, 2, 6, 6] } };
    const r = await checkModelGradient(transformModel([medianFilter(k)], [2, 6, 6]), feeds, {
      wrt: ['x'],
      step: 4e-3,
      atol: 3e-3,
      rtol: 1e-2,
      maxEntries: 50,
      label: `median ${k}`,
    });
    assert.equal(r.checked, 50);
    // Every output pixel sends its cotangent to exactly one input pixel.
    assert.ok(
      r.analytic[0]!.some((g) => g === 0),
      "some pixels are nobody's median",
    );
  }
});

test('median rejects bad sizes and inputs without static C, H, W', () => {
  assert.throws(
    () => medianFilter(0),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && /median filter size must be an integer from 1 to 9; got 0/.test(e.message),
  );
  const model = transformModel([], [1, 4, 4]);
  assert.throws(() => medianFilter(2).emit(new GraphBuilder(model.graph), 'x', [null, 1, null, 4]), /static C, H and W; got \[\?, 1, \?, 4\]/);
});
