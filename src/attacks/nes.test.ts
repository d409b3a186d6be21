import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { scoreOracle } from '../model/oracles.js';
import { l2 } from '../norms/l2.js';
import { linf } from '../norms/linf.js';
import { runAttack } from './attack.js';
import { NesAttack } from './nes.js';
import { assertWithinBudget, robustAccuracy } from './testing/assertions.js';
import { loadedReferenceModel, referenceInputs } from './testing/reference-data.js';

const { x, y } = referenceInputs(32);
const reference = loadedReferenceModel();

test('NES L∞ ε=0.3 (20 samples, ≤ 400 queries) leaves ≤ 25% robust accuracy on 32 MNIST images', async () => {
  const nes = new NesAttack({ samples: 20, queries: 400, sigma: 0.01, relStepsize: 0.1 });
  const out = await runAttack(nes, scoreOracle(reference.model), x, y, { eps: 0.3, norm: 'linf', seed: 1 });
  assert.ok(robustAccuracy(out) <= 0.25, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, linf);
  const q = out.diagnostics!.queriesPerExample!;
  assert.equal(q.length, out.attacked.length);
  assert.ok(Math.max(...q) <= 400, `most queries ${Math.max(...q)}`);
  assert.equal(
    q.reduce((a, b) => a + b, 0),
    out.queries,
  );
});

test('NES L2 ε=2 (≤ 800 queries) leaves ≤ 40% robust accuracy', async () => {
  const nes = new NesAttack({ samples: 20, queries: 800, sigma: 0.01, relStepsize: 0.25 });
  const out = await runAttack(nes, scoreOracle(reference.model), x, y, { eps: 2, norm: 'l2', seed: 1 });
  assert.ok(robustAccuracy(out) <= 0.4, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, l2);
});

test("NES stops at the oracle's query budget instead of overrunning it", async () => {
  const oracle = scoreOracle(reference.model, { queryBudget: 50 });
  const out = await runAttack(new NesAttack({ samples: 20 }), oracle, x, y, { eps: 0.05, norm: 'linf', seed: 1 });
  for (let e = 0; e < 32; e++) assert.ok(oracle.remainingQueries(e) >= 0);
  // Budget 50 = start point (1) + two steps of 21 queries each; a third would need 21 more.
  assert.ok(Math.max(...out.diagnostics!.queriesPerExample!) <= 43);
  assert.ok(out.steps <= 2);
});

test('same seed, same result; invalid options are refused', async () => {
  const nes = new NesAttack({ samples: 10, steps: 3 });
  const a = await runAttack(nes, scoreOracle(reference.model), x, y, { eps: 0.1, norm: 'linf', seed: 4 });
  const b = await runAttack(nes, scoreOracle(reference.model), x, y, { eps: 0.1, norm: 'linf', seed: 4 });
  assert.deepEqual(a.clipped.data, b.clipped.data);
  assert.throws(
    () => new NesAttack({ samples: 7 }),
    (e: unknown) => e instanceof GibbonError && /even integer/.test(e.message),
  );
});
