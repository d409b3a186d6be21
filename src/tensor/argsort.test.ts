/** The radix argsort gives exactly the order of a stable comparator sort, ties, zeros and −0 included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argsortNonNegative } from './argsort.js';

test('argsortNonNegative matches a stable comparator sort', () => {
  let s = 12345;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  for (const n of [0, 1, 2, 7, 100, 2000]) {
    const keys = Float64Array.from({ length: n }, (_, i) => {
      const r = next();
      if (r < 0.1) return 0;
      if (r < 0.15) return -0;
      if (r < 0.3) return 0.5; // ties
      if (r < 0.35) return Infinity;
      return r * 10 ** Math.floor(next() * 12 - 6) + (i % 3) * 1e-300;
    });
    // Some indices left out, as FAB leaves out coordinates with a zero direction.
    const indices = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 !== 3);
    const expected = [...indices].sort((p, q) => (keys[p]! === keys[q]! ? 0 : keys[p]! - keys[q]!));
    const padded = new Uint32Array(indices.length + 3).fill(999);
    padded.set(indices);
    argsortNonNegative(padded, indices.length, keys);
    assert.deepEqual([...padded.subarray(0, indices.length)], expected);
    assert.deepEqual([...padded.subarray(indices.length)], [999, 999, 999]);
  }
});
