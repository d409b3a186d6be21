import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientOracle } from '../model/oracles.js';
import { l2 } from '../norms/l2.js';
import { runAttack } from './attack.js';
import { CwAttack } from './cw.js';
import { PgdAttack } from './pgd.js';
import { assertWithinBudget, meanNormOfSuccesses, robustAccuracy } from './testing/assertions.js';
import { loadedReferenceModel, referenceInputs } from './testing/reference-data.js';

const { x, y } = referenceInputs(12);
const reference = loadedReferenceModel();

test('C&W L2 finds smaller perturbations than PGD-L2 needs', async () => {
  const oracle = gradientOracle(reference.model);
  // Fewer, larger Adam steps than the paper's 10,000 keep the test fast; c starts higher to match.
  const cw = new CwAttack({ steps: 100, binarySearchSteps: 5, initialConst: 1, stepsize: 0.05 });
  const grid = [0.5, 1, 1.5, 2, 3];
  const cwOut = await runAttack(cw, oracle, x, y, { eps: grid, norm: 'l2' });
  const pgdOut = await runAttack(new PgdAttack({ relStepsize: 0.1 }), oracle, x, y, { eps: grid, norm: 'l2', seed: 1 });
  const all = cwOut[cwOut.length - 1]!;
  assert.equal(robustAccuracy(all), 0, 'C&W flips every example at ε = 3');
  const smallestFullPgd = grid.find((_, i) => robustAccuracy(pgdOut[i]!) <= 0.1)!;
  const cwMean = meanNormOfSuccesses(all);
  assert.ok(cwMean < smallestFullPgd, `C&W mean L2 ${cwMean.toFixed(3)} vs PGD needs ε = ${smallestFullPgd}`);
  for (let i = 0; i < grid.length; i++) {
    assertWithinBudget(cwOut[i]!, x, l2, { raw: false });
  }
  assert.equal(cwOut[0]!.queries, all.queries, 'a minimization attack runs once for all ε');
});

test('paper defaults and L2 only', async () => {
  const o = new CwAttack().options;
  assert.deepEqual([o.binarySearchSteps, o.steps, o.stepsize, o.initialConst, o.confidence], [9, 10000, 0.01, 0.001, 0]);
  await assert.rejects(runAttack(new CwAttack(), gradientOracle(reference.model), x, y, { eps: 0.1, norm: 'linf' }), /supports the norms l2, not linf/);
});
