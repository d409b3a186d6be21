/** The word and character splits: offsets into the original text, lower-casing, and what separates tokens. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { splitTokens } from './tokenizer.js';

const surfaces = (text: string, unit: 'word' | 'char', lowercase = true): string[] => splitTokens(text, unit, lowercase).map((t) => t.text);

describe('tokenizer', () => {
  test('words: letter/digit runs with apostrophes, each other symbol alone, offsets into the original text', () => {
    const text = "Don't PAY $100 now!!! Visit www.x.com";
    const tokens = splitTokens(text, 'word', true);
    assert.deepEqual(
      tokens.map((t) => t.text),
      ["don't", 'pay', '$', '100', 'now', '!', '!', '!', 'visit', 'www', '.', 'x', '.', 'com'],
    );
    for (const t of tokens) assert.equal(text.slice(t.start, t.end).toLowerCase(), t.text);
    assert.deepEqual(surfaces('MiXeD', 'word', false), ['MiXeD']);
  });

  test('invisible characters split words and are no tokens; homoglyphs are other tokens', () => {
    assert.deepEqual(surfaces('fr\u200bee', 'word'), ['fr', 'ee']);
    assert.deepEqual(surfaces('frее', 'word'), ['frее']); // Cyrillic е: a different (unknown) word
    assert.notDeepEqual(surfaces('frее', 'word'), ['free']);
  });

  test('characters: one token per code point, whitespace runs as one space, none at the ends', () => {
    assert.deepEqual(surfaces('  Hi \n\n yo😀 ', 'char'), ['h', 'i', ' ', 'y', 'o', '😀']);
    const t = splitTokens('a😀b', 'char', false);
    assert.deepEqual(
      t.map((x) => [x.start, x.end]),
      [
        [0, 1],
        [1, 3],
        [3, 4],
      ],
    );
  });

  test('the limit stops the split early', () => {
    assert.equal(splitTokens('a b c d e', 'word', true, 3).length, 3);
  });
});
