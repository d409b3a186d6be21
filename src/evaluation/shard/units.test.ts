import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeUnit, isInitial, jobId, predecessors, stagesPerEps, successor, UNBOUNDED_EPS, unitsOfBatch, type UnitPlan } from './units.js';

const plan: UnitPlan = { batches: 3, eps: 2, ensembleStages: 4, checks: true };

test('a batch has (cascade + checks) units per ε and one unbounded check; only chain heads and checks start queued', () => {
  const units = unitsOfBatch(plan, 1);
  assert.equal(stagesPerEps(plan), 6);
  assert.equal(units.length, 2 * 6 + 1);
  assert.deepEqual(units.at(-1), { batch: 1, eps: UNBOUNDED_EPS, stage: 0 });
  const initial = units.filter((u) => isInitial(plan, u));
  // Per ε: stage 0, fgsm check, noise check; plus the unbounded check.
  assert.equal(initial.length, 2 * 3 + 1);
  assert.equal(unitsOfBatch({ ...plan, checks: false }, 0).length, 2 * 4);
});

test('a cascade stage follows the one before it and needs all earlier ones; checks stand alone', () => {
  assert.deepEqual(successor(plan, { batch: 2, eps: 1, stage: 0 }), { batch: 2, eps: 1, stage: 1 });
  assert.equal(successor(plan, { batch: 2, eps: 1, stage: 3 }), undefined);
  assert.equal(successor(plan, { batch: 2, eps: 1, stage: 4 }), undefined);
  assert.equal(successor(plan, { batch: 2, eps: UNBOUNDED_EPS, stage: 0 }), undefined);
  assert.deepEqual(predecessors(plan, { batch: 0, eps: 0, stage: 3 }), [0, 1, 2]);
  assert.deepEqual(predecessors(plan, { batch: 0, eps: 0, stage: 5 }), []);
});

test('job ids are UUIDs fixed by (evaluation, unit) and differ between units and evaluations', () => {
  const a = jobId('e1', { batch: 0, eps: 0, stage: 1 });
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(jobId('e1', { batch: 0, eps: 0, stage: 1 }), a);
  const all = new Set([0, 1, 2].flatMap((b) => unitsOfBatch(plan, b).map((u) => jobId('e1', u))));
  assert.equal(all.size, 3 * 13);
  assert.notEqual(jobId('e2', { batch: 0, eps: 0, stage: 1 }), a);
  assert.equal(describeUnit({ batch: 3, eps: 1, stage: 0 }, [0.1, 0.3], ['apgd-ce']), "batch 3, ε=0.3, 'apgd-ce'");
});
