import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { decisionOracle, gradientOracle, scoreOracle, uncountedScores } from './oracles.js';
import { diagonalModel } from './testing/linear-model.js';

const x = { data: Float32Array.from([0.1, 0.2, 0.9, 0.8, 0.6, 0.6]), shape: [3, 2] };

test('each oracle exposes only its own questions, at run time too', async () => {
  const model = diagonalModel();
  const d = decisionOracle(model);
  const s = scoreOracle(model);
  const g = gradientOracle(model);
  assert.deepEqual(Array.from(await d.predict(x)), [0, 1, 1]);
  assert.ok(!('lossAndGrad' in d) && !('scores' in d) && !('logits' in d));
  assert.ok(!('lossAndGrad' in s) && !('model' in Object.keys(s)));
  const { probabilities, logits } = await s.scores(x);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(probabilities.data[2 * i]! + probabilities.data[2 * i + 1]! - 1) < 1e-6);
  assert.deepEqual(logits?.shape, [3, 2]);
  const r = await g.lossAndGrad(x, [0, 1, 1], 'margin');
  assert.deepEqual(Array.from(r.grad.data), [2, 2, -2, -2, -2, -2]);
  assert.deepEqual([d.kind, s.kind, g.kind], ['decision', 'score', 'gradient']);
  assert.deepEqual(g.bounds, { lower: 0, upper: 1 });
  assert.deepEqual(g.exampleShape, [2]);
});

test('queries count examples; the harness scores are not counted', async () => {
  const g = gradientOracle(diagonalModel());
  await g.logits(x);
  await g.lossAndGrad(x, [0, 0, 0], 'ce');
  assert.equal(g.queries, 6);
  await uncountedScores(g, x);
  assert.equal(g.queries, 6);
});

test('a per-example budget refuses the query that would exceed it, before running the model', async () => {
  const model = diagonalModel();
  const d = decisionOracle(model, { queryBudget: 3 });
  await d.predict(x);
  await d.predict(x, [0, 0, 1]);
  assert.equal(d.remainingQueries(0), 0);
  assert.equal(d.remainingQueries(2), 2);
  const before = model.rowsEvaluated;
  await assert.rejects(
    d.predict(x, [2, 2, 2]),
    (e: unknown) =>
      e instanceof GibbonError && e.code === 'budget_exhausted' && /example 2 has used 1 of its 3 queries; this query needs 3 more/.test(e.message),
  );
  assert.equal(model.rowsEvaluated, before, 'the refused query did not run');
  assert.equal(d.queries, 6);
});

test('forExamples narrows: rows map to the parent batch and charge the same account', async () => {
  const g = gradientOracle(diagonalModel(), { queryBudget: 1 });
  const view = g.forExamples([2, 0]);
  await view.logits({ data: x.data.slice(4, 6), shape: [1, 2] }, [0]);
  assert.equal(g.remainingQueries(2), 0);
  assert.equal(view.remainingQueries(0), 0);
  assert.equal(view.remainingQueries(1), 1);
  await assert.rejects(g.logits(x), (e: unknown) => e instanceof GibbonError && e.code === 'budget_exhausted');
  await assert.rejects(view.logits(x, [0, 1, 2]), /not in this oracle's batch of 2/);
  assert.equal(view.forExamples([1]).remainingQueries(0), 1, 'nested views compose');
});

test('bad options are refused', () => {
  assert.throws(() => gradientOracle(diagonalModel(), { queryBudget: 0 }), /queryBudget must be a positive integer/);
  assert.throws(() => gradientOracle(diagonalModel(), { bounds: { lower: 1, upper: 0 } }), /lower < upper/);
});
