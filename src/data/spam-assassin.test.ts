/** SpamAssassin texts: what the filter reads of an email, and the seeded stratified split (≥ 500 spam held out). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emailText, loadSpamAssassin, splitTexts } from './spam-assassin.js';

describe('SpamAssassin corpus', () => {
  test('an email is read as its subject and decoded, de-HTMLed body; other headers are dropped', () => {
    const raw =
      'From: a@b.c\nReceived: from relay.example\nSubject: Win a\n  prize\nContent-Transfer-Encoding: quoted-printable\n\n<html><b>Click</b> h=\nere &amp; get 50=25 off</html>\n';
    assert.equal(emailText(raw), 'Win a prize\nClick here & get 50% off');
    assert.equal(emailText(`Subject: x\n\n${'word '.repeat(500)}`, 40), `x\n${'word '.repeat(7).trim()}`);
  });

  test('the corpus: 6 046 emails de-duplicated; the seeded split keeps 30% of each class, ≥ 500 spam, and is reproducible', () => {
    const all = loadSpamAssassin();
    assert.ok(all.texts.length > 5800 && all.texts.length <= 6046, `${all.texts.length} texts`);
    assert.equal(new Set(all.texts).size, all.texts.length);
    const a = splitTexts(all, { seed: 0 });
    const spam = (d: { labels: Int32Array }): number => d.labels.filter((y) => y === 1).length;
    assert.ok(spam(a.test) >= 500, `${spam(a.test)} spam in the test split`);
    assert.equal(a.train.texts.length + a.test.texts.length, all.texts.length);
    assert.ok(Math.abs(spam(a.test) / spam(all) - 0.3) < 0.01);
    const test = new Set(a.test.texts);
    assert.ok(a.train.texts.every((t) => !test.has(t)));
    assert.deepEqual(splitTexts(all, { seed: 0 }).test.texts, a.test.texts);
    assert.notDeepEqual(splitTexts(all, { seed: 1 }).test.texts.slice(0, 20), a.test.texts.slice(0, 20));
  });
});
