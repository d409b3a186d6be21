/** AscendingOrder gives exactly a stable sort's order, ties, −0 and infinities included, lazily and with reused buffers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AscendingOrder } from './ascending-order.js';

test('AscendingOrder takes indices in the order of a stable sort by key', () => {
  let s = 12345;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const order = new AscendingOrder(); // one instance reused across sizes, as FAB's projection does
  for (const n of [0, 1, 2, 7, 100, 2000, 50, 3000]) {
    const keys = Float64Array.from({ length: n }, () => {
      const r = next();
      if (r < 0.1) return 0;
      if (r < 0.15) return -0;
      if (r < 0.3) return 0.5; // ties
      if (r < 0.35) return Infinity;
      if (r < 0.4) return -Infinity;
      return (r - 0.7) * 10 ** Math.floor(next() * 12 - 6);
    });
    // Some indices left out and the rest not ascending: ties keep the order given, not index order.
    const items = Uint32Array.from({ length: n }, (_, i) => n - 1 - i).filter((i) => i % 5 !== 3);
    const expected = [...items].sort((p, q) => (keys[p]! === keys[q]! ? 0 : keys[p]! < keys[q]! ? -1 : 1));
    order.reset(items, items.length, keys);
    const taken: number[] = [];
    for (let i = order.next(); i >= 0; i = order.next()) taken.push(i);
    assert.deepEqual(taken, expected);
    assert.equal(order.next(), -1);
  }
});

test('AscendingOrder can stop early and start over', () => {
  const keys = Float64Array.from([3, 1, 2, 1, 0]);
  const order = new AscendingOrder();
  order.reset(Uint32Array.from([0, 1, 2, 3, 4]), 5, keys);
  assert.deepEqual([order.next(), order.next()], [4, 1]);
  order.reset(Uint32Array.from([2, 0]), 2, keys);
  assert.deepEqual([order.next(), order.next(), order.next()], [2, 0, -1]);
});
