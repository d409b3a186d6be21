import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from './errors.js';
import { deriveSeed, Rng } from './random.js';

test('same seed, same stream; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const sa = Array.from({ length: 100 }, () => a.nextUint32());
  const sb = Array.from({ length: 100 }, () => b.nextUint32());
  const sc = Array.from({ length: 100 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('the stream is pinned (the same numbers on every platform and release)', () => {
  const r = new Rng(0);
  assert.deepEqual(
    Array.from({ length: 4 }, () => r.nextUint32()),
    PINNED_SEED0,
  );
});

test('uniform in [0, 1) with mean ≈ 1/2; normal with mean ≈ 0 and variance ≈ 1', () => {
  const r = new Rng(7);
  let sum = 0;
  let min = 1;
  let max = 0;
  for (let i = 0; i < 20000; i++) {
    const u = r.uniform();
    sum += u;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  assert.ok(min >= 0 && max < 1);
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01, `mean ${sum / 20000}`);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < 20000; i++) {
    const v = r.normal();
    s1 += v;
    s2 += v * v;
  }
  assert.ok(Math.abs(s1 / 20000) < 0.03, `normal mean ${s1 / 20000}`);
  assert.ok(Math.abs(s2 / 20000 - 1) < 0.05, `normal variance ${s2 / 20000}`);
});

test('integer(n) covers 0…n−1 and nothing else; permutation is a permutation', () => {
  const r = new Rng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const v = r.integer(7);
    assert.ok(Number.isInteger(v) && v >= 0 && v < 7);
    seen.add(v);
  }
  assert.equal(seen.size, 7);
  const p = r.permutation(50);
  assert.deepEqual(
    [...p].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.throws(() => r.integer(0), GibbonError);
});

test('derive: a stream per named part, independent of what ran before', () => {
  assert.equal(deriveSeed(1, 'pgd', 0.3), deriveSeed(1, 'pgd', 0.3));
  assert.notEqual(deriveSeed(1, 'pgd', 0.3), deriveSeed(1, 'pgd', 0.1));
  assert.notEqual(deriveSeed(1, 'pgd', 0.3), deriveSeed(2, 'pgd', 0.3));
  assert.notEqual(deriveSeed(1, 'ab', 'c'), deriveSeed(1, 'a', 'bc'));
  const parent = new Rng(9);
  const before = parent.fork('batch', 3).uniform();
  parent.uniform();
  assert.equal(parent.fork('batch', 3).uniform(), before, 'fork depends only on the seed and keys');
});

test('seeds must be 32-bit unsigned integers', () => {
  assert.throws(
    () => new Rng(-1),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option',
  );
  assert.throws(() => new Rng(1.5), GibbonError);
  assert.throws(() => new Rng(2 ** 32), GibbonError);
});

const PINNED_SEED0 = [50113177, 1317682150, 1654315219, 1250130309];
