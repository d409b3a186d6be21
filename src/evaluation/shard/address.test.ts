import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GibbonError } from '../../errors.js';
import { checkAddress, shownUrl } from './address.js';

test('messages show the database URL without its password', () => {
  assert.equal(shownUrl('postgres://gibbon:s3cret@db.example:5433/evals'), 'postgres://gibbon@db.example:5433/evals');
  assert.equal(shownUrl('not a url'), '(an unparsable URL)');
});

test('a URL that is not PostgreSQL, and schema or queue names that could inject SQL, are refused naming the option', () => {
  const ok = { url: 'postgres://u:p@h/db', queue: 'gibbon-eval', schema: 'gibbon_shard' };
  checkAddress(ok);
  const refused = (a: typeof ok, option: string, pattern: RegExp): void =>
    assert.throws(
      () => checkAddress(a),
      (e: unknown) => e instanceof GibbonError && e.location.option === option && pattern.test(e.message),
    );
  refused({ ...ok, url: 'mysql://h/db' }, '--queue', /must be a PostgreSQL URL/);
  refused({ ...ok, url: 'nonsense' }, '--queue', /is not a URL/);
  refused({ ...ok, schema: 'x; DROP TABLE y' }, '--queue-schema', /lower-case letters/);
  refused({ ...ok, queue: "a'b" }, '--queue-name', /letters, digits/);
});
