/** Percentile bootstrap: deterministic, holds the rate, narrows with n, degenerate at 0 and n. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapRate } from './bootstrap.js';

const outcomes = (k: number, n: number): boolean[] => Array.from({ length: n }, (_, i) => i < k);

describe('bootstrapRate', () => {
  test('the interval holds the rate, is seeded, and narrows as n grows', () => {
    const a = bootstrapRate(outcomes(12, 30), 5);
    assert.deepEqual(a, bootstrapRate(outcomes(12, 30), 5));
    assert.equal(a.rate, 0.4);
    assert.ok(a.low < 0.4 && a.high > 0.4, JSON.stringify(a));
    // Binomial standard error at n=30 is 0.089: the 95% interval is about ±0.175.
    assert.ok(Math.abs(a.high - a.low - 2 * 1.96 * Math.sqrt((0.4 * 0.6) / 30)) < 0.06, JSON.stringify(a));
    const b = bootstrapRate(outcomes(120, 300), 5);
    assert.ok(b.high - b.low < (a.high - a.low) / 2.5, JSON.stringify(b));
  });

  test('all failures or all successes give a point; no outcomes give an empty rate', () => {
    assert.deepEqual(bootstrapRate(outcomes(0, 30), 1), { rate: 0, low: 0, high: 0, n: 30, successes: 0 });
    assert.deepEqual(bootstrapRate(outcomes(30, 30), 1), { rate: 1, low: 1, high: 1, n: 30, successes: 30 });
    assert.equal(bootstrapRate([], 1).n, 0);
  });
});
