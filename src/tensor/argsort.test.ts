/** The radix argsort gives exactly the order of a stable comparator sort, ties, zeros and −0 included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argsortNonNegative, argsortScratch } from './argsort.js';

test('argsortNonNegative matches a stable comparator sort', () => {
  let s = 12345;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  // One scratch reused across sizes (as FAB does), and fresh buffers each call.
  const shared = argsortScratch(2000);
  for (const [n, scratch] of [0, 1, 2, 7, 100, 2000, 1000, 3000].flatMap(
    (n) =>
      [
        [n, undefined],
        [n, shared],
      ] as const,
  )) {
    const keys = Float64Array.from({ length: n }, (_, i) => {
      const r = next();
      if (r < 0.1) return 0;
      if (r < 0.15) return -0;
      if (r < 0.3) return 0.5; // ties
      if (r < 0.35) return Infinity;
      if (r < 0.6) return Math.fround(next()); // float32 values widened, as FAB's L∞ breakpoints: low bits all zero
      return r * 10 ** Math.floor(next() * 12 - 6) + (i % 3) * 1e-300;
    });
    // Some indices left out, as FAB leaves out coordinates with a zero direction.
    const indices = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 !== 3);
    const expected = [...indices].sort((p, q) => (keys[p]! === keys[q]! ? 0 : keys[p]! - keys[q]!));
    const padded = new Uint32Array(indices.length + 3).fill(999);
    padded.set(indices);
    argsortNonNegative(padded, indices.length, keys, scratch);
    assert.deepEqual([...padded.subarray(0, indices.length)], expected);
    assert.deepEqual([...padded.subarray(indices.length)], [999, 999, 999]);
  }
});
