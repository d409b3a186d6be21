import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientOracle } from '../model/oracles.js';
import { l2 } from '../norms/l2.js';
import { linf } from '../norms/linf.js';
import { ApgdAttack, apgdCheckpoints } from './apgd.js';
import { runAttack } from './attack.js';
import { PgdAttack } from './pgd.js';
import { assertWithinBudget, robustAccuracy } from './testing/assertions.js';
import { loadedReferenceModel, referenceInputs } from './testing/reference-data.js';

const { x, y } = referenceInputs(64);
const reference = loadedReferenceModel();

test('checkpoints follow the paper: w = ⌈p·N⌉ for p = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99', () => {
  assert.deepEqual(apgdCheckpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
  assert.deepEqual(apgdCheckpoints(20), [5, 9, 12, 14, 16, 18, 19, 20]);
});

test('at ε=0.1, APGD-CE and APGD-T are at least as strong as PGD-20 on the same examples', async () => {
  const oracle = gradientOracle(reference.model);
  const pgd = await runAttack(new PgdAttack({ steps: 20, relStepsize: 0.1 }), oracle, x, y, { eps: 0.1, norm: 'linf', seed: 1 });
  const ce = await runAttack(new ApgdAttack({ loss: 'ce' }), oracle, x, y, { eps: 0.1, norm: 'linf', seed: 1 });
  const t = await runAttack(new ApgdAttack({ loss: 'dlr', targetClasses: 9, steps: 25 }), oracle, x, y, { eps: 0.1, norm: 'linf', seed: 1 });
  assert.ok(robustAccuracy(ce) <= robustAccuracy(pgd), `APGD-CE ${robustAccuracy(ce)} vs PGD-20 ${robustAccuracy(pgd)}`);
  assert.ok(robustAccuracy(t) <= robustAccuracy(pgd), `APGD-T ${robustAccuracy(t)} vs PGD-20 ${robustAccuracy(pgd)}`);
  assert.ok(robustAccuracy(ce) <= 0.05, `APGD-CE ${robustAccuracy(ce)}`);
  assertWithinBudget(ce, x, linf);
  assertWithinBudget(t, x, linf);
  assert.equal(ce.attack, 'apgd-ce');
  assert.equal(t.attack, 'apgd-t');
});

test('APGD L2 ε=1.5 flips ≥ 85%, inside the L2 ball; the same seed gives the same result', async () => {
  const run = () => runAttack(new ApgdAttack({ steps: 50 }), gradientOracle(reference.model), x, y, { eps: 1.5, norm: 'l2', seed: 4 });
  const [a, b] = [await run(), await run()];
  assert.ok(robustAccuracy(a) <= 0.15, `robust accuracy ${robustAccuracy(a)}`);
  assertWithinBudget(a, x, l2);
  assert.deepEqual(a.clipped.data, b.clipped.data);
});

test('APGD-T needs 4 classes for targeted DLR; options are validated', () => {
  assert.throws(() => new ApgdAttack({ rho: 1.5 }), /apgd: option rho must be a number in \[0, 1\]; got 1.5/);
  assert.equal(new ApgdAttack().options.steps, 100);
  assert.equal(new ApgdAttack({ targetClasses: 9, loss: 'dlr' }).name, 'apgd-t');
});
