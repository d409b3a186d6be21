import { test } from 'node:test';
import assert from 'node:assert/strict';
import { updateRunningStats } from './running-stats.js';

const close = (a: ArrayLike<number>, b: readonly number[], tol = 1e-6): void => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `[${i}]: ${a[i]} vs ${b[i]}`);
};

test('ONNX momentum 0.9 is PyTorch momentum 0.1: running ← 0.9·running + 0.1·batch, the variance unbiased by n/(n − 1)', () => {
  const running = { mean: Float32Array.of(0, 1, -2), variance: Float32Array.of(1, 2, 0.5) };
  updateRunningStats(running, { mean: Float32Array.of(1, 1, 0), variance: Float32Array.of(4, 0, 1) }, { momentum: 0.9, count: 5 });
  close(running.mean, [0.1, 1, -1.8]);
  close(running.variance, [0.9 + 0.1 * 4 * 1.25, 1.8, 0.45 + 0.1 * 1.25]);
});

test('momentum accumulates over steps as torch.nn.BatchNorm does (the closed form of three updates)', () => {
  const running = { mean: Float32Array.of(0.5), variance: Float32Array.of(1) };
  const batches = [
    { mean: 2, variance: 3 },
    { mean: -1, variance: 0.5 },
    { mean: 4, variance: 2 },
  ];
  const n = 24;
  const m = 0.1;
  let mean = 0.5;
  let variance = 1;
  for (const b of batches) {
    updateRunningStats(running, { mean: Float32Array.of(b.mean), variance: Float32Array.of(b.variance) }, { momentum: 1 - m, count: n });
    mean = (1 - m) * mean + m * b.mean;
    variance = (1 - m) * variance + (m * b.variance * n) / (n - 1);
  }
  close(running.mean, [mean]);
  close(running.variance, [variance]);
  // (1 − m)^3 of the start is left: 0.729·0.5 + the batches' share.
  close(running.mean, [0.729 * 0.5 + 0.1 * 0.81 * 2 + 0.1 * 0.9 * -1 + 0.1 * 4]);
});

test('other momenta: ONNX 0.99 (PyTorch 0.01), ONNX 0 (replace by the batch statistics), and one value per channel (no unbiasing; PyTorch refuses to train on that)', () => {
  const a = { mean: Float32Array.of(1), variance: Float32Array.of(1) };
  updateRunningStats(a, { mean: Float32Array.of(3), variance: Float32Array.of(2) }, { momentum: 0.99, count: 11 });
  close(a.mean, [0.99 + 0.03]);
  close(a.variance, [0.99 + 0.01 * 2 * 1.1]);
  const b = { mean: Float32Array.of(1), variance: Float32Array.of(1) };
  updateRunningStats(b, { mean: Float32Array.of(3), variance: Float32Array.of(2) }, { momentum: 0, count: 4 });
  close(b.mean, [3]);
  close(b.variance, [2 * (4 / 3)]);
  const c = { mean: Float32Array.of(1), variance: Float32Array.of(1) };
  updateRunningStats(c, { mean: Float32Array.of(3), variance: Float32Array.of(0) }, { momentum: 0.9, count: 1 });
  close(c.mean, [1.2]);
  close(c.variance, [0.9]);
});
