import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../random.js';
import { CHAR_EDIT_COST, CHAR_EDITS, editWord } from './char-edits.js';
import { levenshtein, measureEdits } from './edit-distance.js';
import { brokenSpan, compilePatterns, DEFAULT_PROTECTION, overlapsProtected, protectedSpans } from './protected-spans.js';
import { DEFAULT_STOPWORDS } from './stopwords.js';
import { WordNetSynonyms } from './synonyms.js';
import { checkAdversarial, limitsFor, TEXT_EDITS, type TextPerturbation } from './text-budget.js';

test('edit distance: code points, not UTF-16 units; words by whitespace units', () => {
  assert.equal(levenshtein(Array.from('kitten'), Array.from('sitting')), 3);
  assert.deepEqual(measureEdits('free money now', 'free money now'), { charEdits: 0, wordsChanged: 0, wordFraction: 0 });
  const m = measureEdits('get free money now', 'get fre\u200be mоney now');
  assert.equal(m.charEdits, 2);
  assert.equal(m.wordsChanged, 2);
  assert.equal(m.wordFraction, 0.5);
  assert.equal(measureEdits('a 😀 b', 'a 😃 b').charEdits, 1);
  assert.equal(measureEdits('one two three', 'one three').wordsChanged, 1);
});

test('every character edit costs what CHAR_EDIT_COST says, measured', () => {
  const rng = new Rng(5);
  for (const word of ['offer', 'Viagra', 'cash', 'ok']) {
    for (const edit of CHAR_EDITS) {
      const out = editWord(word, edit, rng);
      if (out === undefined) continue;
      assert.notEqual(out, word, `${edit} of ${word}`);
      assert.equal(measureEdits(word, out).charEdits, CHAR_EDIT_COST[edit], `${edit}: ${word} → ${out}`);
    }
  }
});

test('protected spans: URLs, e-mail addresses and payload patterns; a changed span is found', () => {
  const text = 'Call 555-0199 or visit http://x.example/buy?id=1 or write to sales@x.example today';
  const spans = protectedSpans(text, { urls: true, patterns: ['\\d{3}-\\d{4}'] });
  assert.deepEqual(
    spans.map((s) => text.slice(s.start, s.end)),
    ['555-0199', 'http://x.example/buy?id=1', 'sales@x.example'],
  );
  assert.equal(overlapsProtected(spans, 30, 32), true);
  assert.equal(overlapsProtected(spans, 0, 4), false);
  assert.equal(brokenSpan(text, text.replace('Call', 'Phone'), spans), undefined);
  assert.equal(brokenSpan(text, text.replace('x.example/buy', 'x.example/bu y'), spans), 'http://x.example/buy?id=1');
  assert.throws(() => compilePatterns(['(']), /protect\.patterns\[0\] is not a valid regular expression/);
});

test('checkAdversarial: over budget, broken span and empty text are rejected with the reason', () => {
  const p: TextPerturbation = {
    edits: new Set(TEXT_EDITS),
    budget: { charEdits: 2, wordFraction: 0.5 },
    stopwords: DEFAULT_STOPWORDS,
    protection: DEFAULT_PROTECTION,
  };
  const text = 'win cash at www.prize.example now';
  assert.deepEqual(limitsFor(text, p.budget), { charEdits: 2, words: 2 });
  assert.equal(checkAdversarial(text, 'wim cash at www.prize.example now', p).ok, true);
  const over = checkAdversarial(text, 'wim cesh et www.prize.example now', p);
  assert.equal(over.ok, false);
  assert.match((over as { reason: string }).reason, /3 char edits > 2/);
  assert.match((checkAdversarial(text, 'win cash at www.prise.example now', p) as { reason: string }).reason, /protected span changed/);
  assert.match((checkAdversarial(text, '', p) as { reason: string }).reason, /empty/);
});

test('WordNet synonyms: single words of the dominant part of speech, cased like the word, none for unknown words', () => {
  const s = new WordNetSynonyms();
  assert.ok(s.synonyms('buy').includes('purchase'));
  assert.ok(s.synonyms('Cheap').includes('Inexpensive'));
  assert.ok(s.synonyms('URGENT').every((w) => w === w.toUpperCase()));
  assert.deepEqual(s.synonyms('qzxv'), []);
  assert.ok(s.synonyms('offer').every((w) => /^[a-z]+$/.test(w)));
});
