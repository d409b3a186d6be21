import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { adversarialMask } from './criterion.js';
import { misclassification } from './misclassification.js';
import { targetedMisclassification } from './targeted-misclassification.js';
import { undetectedMisclassification } from './undetected-misclassification.js';

const scores = { data: Float32Array.from([5, 1, 0, /**/ 0, 3, 2, /**/ 1, 1, 4]), shape: [3, 3] };

test('misclassification: adversarial when the top class is not the label', () => {
  const c = misclassification([0, 2, 2]);
  assert.deepEqual(Array.from(adversarialMask(c, scores)), [0, 1, 0]);
  assert.equal(c.isAdversarial([1, 1, 0], 0), false, 'ties go to the first class, like ArgMax');
  assert.equal(c.targets, undefined);
});

test('targeted misclassification: adversarial only at the target', () => {
  const c = targetedMisclassification([0, 2, 2], [1, 1, 0]);
  assert.deepEqual(Array.from(adversarialMask(c, scores)), [0, 1, 0]);
  assert.deepEqual(Array.from(c.targets!), [1, 1, 0]);
});

test('subset renumbers the examples', () => {
  const c = targetedMisclassification([0, 2, 2], [1, 1, 0]).subset([2, 1]);
  assert.deepEqual(Array.from(c.labels), [2, 2]);
  assert.deepEqual(Array.from(c.targets!), [0, 1]);
  assert.equal(c.isAdversarial([0, 3, 2], 1), true);
  assert.equal(c.isAdversarial([0, 3, 2], 0), false);
});

test('bad labels and targets are refused with the position', () => {
  assert.throws(() => misclassification([0, 10], 10), /labels\[1\] = 10 is not a class 0…9/);
  assert.throws(() => misclassification([0, -1]), GibbonError);
  assert.throws(() => targetedMisclassification([0, 1], [1, 1]), /targets\[1\] = 1 equals the true label/);
  assert.throws(() => targetedMisclassification([0, 1], [1]), /targets has 1 entries but labels has 2/);
  assert.deepEqual(Array.from(misclassification(BigInt64Array.from([3n, 4n])).labels), [3, 4]);
});

test('undetected misclassification: misclassified and the score (last entry) at most τ', () => {
  // Rows: 3 class scores, then the detector score; τ = 0.5.
  const rows = { data: Float32Array.from([1, 4, 0, 0.2, /**/ 1, 4, 0, 0.9, /**/ 5, 1, 0, 0.1, /**/ 1, 4, 0, 0.5]), shape: [4, 4] };
  const c = undetectedMisclassification([0, 0, 0, 2], { numClasses: 3, threshold: 0.5 });
  assert.deepEqual(Array.from(adversarialMask(c, rows)), [1, 0, 0, 1], 'flagged (0.9 > τ) and correctly classified rows fail; s = τ is not flagged');
  assert.equal(c.targets, undefined);
  const sub = c.subset([3, 1]);
  assert.deepEqual(Array.from(sub.labels), [2, 0]);
  assert.equal(sub.isAdversarial([0, 0, 1, 0.4], 0), false, 'example 3 has label 2');
  assert.equal(sub.isAdversarial([0, 0, 1, 0.4], 1), true, 'example 1 has label 0');
  assert.throws(() => c.isAdversarial([1, 4, 0], 0), /needs 3 class scores and the detector score/);
  assert.throws(() => undetectedMisclassification([0, 3], { numClasses: 3, threshold: 0 }), /labels\[1\] = 3 is not a class 0…2/);
  assert.throws(() => undetectedMisclassification([0], { numClasses: 3, threshold: NaN }), GibbonError);
});
