/** JSONL text data: labels as indices or names, and one error naming the line for each kind of bad input. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { parseTextJsonl, readTextJsonl } from './text-jsonl.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('text JSONL', () => {
  test('names become sorted classes; indices stay; given classes accept both; blank lines and a BOM are skipped', () => {
    const named = parseTextJsonl(enc('\ufeff{"text":"hi","label":"spam"}\n\n{"text":"yo","label":"ham"}\r\n'), 'f.jsonl');
    assert.deepEqual(named.classes, ['ham', 'spam']);
    assert.deepEqual(Array.from(named.labels), [1, 0]);
    assert.deepEqual(named.texts, ['hi', 'yo']);
    const indexed = parseTextJsonl(enc('{"text":"a","label":2}\n{"text":"b","label":0}'), 'g.jsonl');
    assert.deepEqual(indexed.classes, ['0', '1', '2']);
    const given = parseTextJsonl(enc('{"text":"a","label":"spam"}\n{"text":"b","label":0}'), 'h.jsonl', { classes: ['ham', 'spam'] });
    assert.deepEqual(Array.from(given.labels), [1, 0]);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['missing label', enc('{"text":"a","label":0}\n{"text":"b"}'), /line 2: no "label" field/],
    ['invalid JSON', enc('{"text":"a","label":0}\n{"text": "b", label: 1}'), /line 2: invalid JSON/],
    ['empty text', enc('{"text":"   ","label":0}'), /line 1: empty text/],
    ['text not a string', enc('{"text":5,"label":0}'), /line 1: "text" must be a string/],
    ['not an object', enc('[1,2]'), /line 1: expected an object/],
    ['invalid UTF-8', Uint8Array.from([...enc('{"text":"a","label":0}\n{"text":"'), 0xff, 0xfe, ...enc('","label":1}')]), /line 2: invalid UTF-8/],
    ['negative label', enc('{"text":"a","label":-1}'), /line 1: "label" must be a class index/],
    ['mixed labels', enc('{"text":"a","label":0}\n{"text":"b","label":"spam"}'), /line 2: labels mix class names and indices/],
    ['one class', enc('{"text":"a","label":"x"}'), /only 1 class/],
  ];
  for (const [what, bytes, message] of bad) {
    test(`${what}: one error naming the file and line`, () => {
      assert.throws(
        () => parseTextJsonl(bytes, 'data.jsonl'),
        (e: GibbonError) =>
          e instanceof GibbonError && e.code === 'invalid_input' && message.test(e.message) && e.message.startsWith('data.jsonl') && !e.message.includes('\n'),
      );
    });
  }

  test('a label that is not one of the given classes is refused', () => {
    assert.throws(() => parseTextJsonl(enc('{"text":"a","label":"eggs"}'), 'd.jsonl', { classes: ['ham', 'spam'] }), /line 1: label "eggs" is not a class/);
    assert.throws(() => parseTextJsonl(enc('{"text":"a","label":3}'), 'd.jsonl', { classes: ['ham', 'spam'] }), /line 1: label 3 is not a class/);
  });

  test('files: read from disk, a missing file is file_not_found', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbon-jsonl-'));
    const path = join(dir, 'x.jsonl');
    writeFileSync(path, '{"text":"a","label":0}\n{"text":"b","label":1}\n');
    assert.equal(readTextJsonl(path).texts.length, 2);
    assert.throws(
      () => readTextJsonl(join(dir, 'none.jsonl')),
      (e: GibbonError) => e.code === 'file_not_found',
    );
  });
});
