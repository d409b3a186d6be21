import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { areaUnder, auroc, rates, rocCurve, thresholdAtFpr, tprAtFpr } from './roc.js';

test('auroc: perfect, inverted and chance separations', () => {
  assert.equal(auroc([3, 4, 5], [0, 1, 2]), 1);
  assert.equal(auroc([0, 1, 2], [3, 4, 5]), 0);
  assert.equal(auroc([1, 1, 1], [1, 1]), 0.5);
});

test('auroc counts ties half (hand-computed Mann–Whitney)', () => {
  // Pairs (p, n): p=2 beats 1, ties 2 → 1.5; p=3 beats 1 and 2 → 2; p=1 ties 1, loses to 2 → 0.5.
  // (1.5 + 2 + 0.5) / (3·2) = 4/6.
  assert.equal(auroc([2, 3, 1], [1, 2]), 4 / 6);
  // One positive above all, one tied with one of two negatives: (2 + 1.5)/4.
  assert.equal(auroc([5, 0], [0, -1]), 3.5 / 4);
});

test('rocCurve: corners, diagonal step on ties, area equals auroc', () => {
  const pos = [2, 3, 1];
  const neg = [1, 2];
  const curve = rocCurve(pos, neg);
  assert.deepEqual(
    curve.map((p) => [p.fpr, p.tpr]),
    [
      [0, 0],
      [0, 1 / 3],
      [0.5, 2 / 3],
      [1, 1],
    ],
  );
  assert.deepEqual(
    curve.map((p) => p.threshold),
    [Infinity, 3, 2, 1],
  );
  assert.ok(Math.abs(areaUnder(curve) - auroc(pos, neg)) < 1e-12);
});

test('thresholdAtFpr flags at most ⌊α·n⌋ clean scores; tprAtFpr uses that threshold', () => {
  const neg = Array.from({ length: 20 }, (_, i) => i); // 0…19
  const tau = thresholdAtFpr(neg, 0.05); // ⌊1⌋ = 1 allowed → τ = second largest = 18
  assert.equal(tau, 18);
  assert.deepEqual(rates([18, 18.5, 30, 0], neg, tau), { fpr: 1 / 20, tpr: 2 / 4 });
  assert.equal(tprAtFpr([18, 18.5, 30, 0], neg, 0.05), 0.5);
  // Ties at τ stay unflagged, so the FPR never exceeds α.
  assert.equal(thresholdAtFpr([1, 1, 1, 1], 0.5), 1);
  assert.equal(rates([], [1, 1, 1, 1], 1).fpr, 0);
  assert.equal(thresholdAtFpr(neg, 0), 19);
});

test('bad inputs are GibbonErrors', () => {
  assert.throws(
    () => auroc([], [1]),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_input',
  );
  assert.throws(() => auroc([NaN], [1]), /NaN/);
  assert.throws(
    () => thresholdAtFpr([1, 2], 1),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option',
  );
});
