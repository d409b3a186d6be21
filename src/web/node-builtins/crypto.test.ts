import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash as nodeHash } from 'node:crypto';
import { createHash } from './crypto.js';

test('the browser SHA-256 equals node:crypto on lengths around the block and padding boundaries', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 255);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), nodeHash('sha256').update(bytes).digest('hex'), `length ${n}`);
  }
  assert.equal(createHash('sha256').update('ab').update('c').digest('hex'), nodeHash('sha256').update('abc').digest('hex'));
  assert.throws(() => createHash('md5'), /not available in the browser/);
});
