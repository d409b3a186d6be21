import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonAnswerError, MAX_JSON_DEPTH, parseLenientJson } from './lenient-json.js';

test('bare NaN, Infinity and -Infinity become null; the same words inside strings stay', () => {
  assert.deepEqual(parseLenientJson('{"outputs": [[NaN, 1.5, -Infinity], [Infinity,-2e-3]]}'), {
    outputs: [
      [null, 1.5, null],
      [null, -0.002],
    ],
  });
  assert.deepEqual(parseLenientJson('{"a": "NaN, Infinity \\" NaN", "b": [NaN]}'), { a: 'NaN, Infinity " NaN', b: [null] });
  assert.deepEqual(parseLenientJson('[1, 2]'), [1, 2]);
});

test('text that is not JSON is a syntax error, also after the repair', () => {
  for (const text of ['<html>', '[1, 2', 'NaNa', '{"a": Infinity}x']) {
    assert.throws(
      () => parseLenientJson(text),
      (e: unknown) => e instanceof JsonAnswerError && e.kind === 'syntax',
      text,
    );
  }
});

test('`[` and a million spaces fails at once (linear time), as do a million NaNs', () => {
  const started = performance.now();
  assert.throws(
    () => parseLenientJson(`[${' '.repeat(1_000_000)}`),
    (e: unknown) => e instanceof JsonAnswerError && e.kind === 'syntax',
  );
  const many = `[${Array.from({ length: 1_000_000 }, () => 'NaN').join(',')}]`;
  assert.equal((parseLenientJson(many) as unknown[]).length, 1_000_000);
  const ms = performance.now() - started;
  assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
});

test('nesting deeper than the limit is refused before parsing (10⁵ levels: a clean error, no stack overflow)', () => {
  const nested = (d: number): string => `${'['.repeat(d)}${']'.repeat(d)}`;
  assert.throws(
    () => parseLenientJson(nested(100_000)),
    (e: unknown) => e instanceof JsonAnswerError && e.kind === 'too_deep' && e.message.includes(`more than ${MAX_JSON_DEPTH} levels`),
  );
  assert.doesNotThrow(() => parseLenientJson(nested(MAX_JSON_DEPTH)));
  assert.throws(
    () => parseLenientJson(nested(MAX_JSON_DEPTH + 1)),
    (e: unknown) => e instanceof JsonAnswerError && e.kind === 'too_deep',
  );
  // Brackets inside strings do not count.
  assert.deepEqual(parseLenientJson(`["${'['.repeat(10_000)}"]`), ['['.repeat(10_000)]);
});
