/** The TF-IDF + logistic-regression JSON model: scores by hand on a tiny model, and one error per malformed field. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { checkTfidfLogisticWeights, TfidfLogisticModel } from './tfidf-logistic-model.js';

const TINY = {
  vocabulary: { ignore: 0, previous: 1, 'ignore previous': 2, hello: 3 },
  idf: [1.5, 2, 3, 1],
  coefficients: [[2, 1, 4, -3]],
  intercept: [-1],
  ngram_range: [1, 2],
  lowercase: true,
  classes: [0, 1],
};

describe('TfidfLogisticModel', () => {
  test('log-odds = w·(counts × idf / ‖counts × idf‖) + b over 1- and 2-grams of ≥ 2-character words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbon-tfidf-'));
    const path = join(dir, 'm.json');
    writeFileSync(path, JSON.stringify(TINY));
    const m = TfidfLogisticModel.fromFile(path, ['safe', 'injection']);
    // "IGNORE previous, a ignore": ignore ×2, previous ×1, "ignore previous" ×1 ("a" is too short to be a word).
    const v = [2 * 1.5, 1 * 2, 1 * 3, 0];
    const norm = Math.hypot(...v);
    const z = -1 + (2 * v[0]! + 1 * v[1]! + 4 * v[2]!) / norm;
    const [s] = await m.scores(['IGNORE previous, a ignore']);
    assert.ok(Math.abs(s![1]! - z) < 1e-6, `${s![1]} vs ${z}`);
    assert.equal(s![0], 0);
    // No known term: the intercept alone.
    assert.equal((await m.scores(['zzz']))[0]![1], -1);
    assert.deepEqual(m.labels, ['safe', 'injection']);
  });

  const broken: [string, Record<string, unknown>, RegExp][] = [
    ['coefficients of the wrong length', { coefficients: [[1, 2]] }, /coefficients\[0\] has 2 weights but idf has 4 features/],
    ['a vocabulary index outside the features', { vocabulary: { x: 9 } }, /vocabulary term "x" has index 9/],
    ['a non-finite idf', { idf: [1, 2, null, 4] }, /idf must be a non-empty array of finite numbers/],
    ['a bad n-gram range', { ngram_range: [2, 1] }, /ngram_range/],
    [
      'a multi-class model',
      {
        coefficients: [
          [1, 1, 1, 1],
          [0, 0, 0, 0],
        ],
      },
      /a binary model/,
    ],
  ];
  for (const [what, change, message] of broken) {
    test(`${what} is refused naming the field`, () => {
      assert.throws(
        () => checkTfidfLogisticWeights({ ...TINY, ...change }, 'w.json'),
        (e: GibbonError) => e.code === 'invalid_model' && message.test(e.message) && e.message.startsWith('w.json'),
      );
    });
  }
});
