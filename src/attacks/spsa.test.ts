import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreOracle } from '../model/oracles.js';
import { linf } from '../norms/linf.js';
import { runAttack } from './attack.js';
import { createAttack } from './registry.js';
import { SpsaAttack } from './spsa.js';
import { assertWithinBudget, robustAccuracy } from './testing/assertions.js';
import { loadedReferenceModel, referenceInputs } from './testing/reference-data.js';

const { x, y } = referenceInputs(32);
const reference = loadedReferenceModel();

test('SPSA (Adam) L∞ ε=0.3 leaves ≤ 25% robust accuracy on 32 MNIST images within 20 steps', async () => {
  const spsa = new SpsaAttack({ samples: 32, steps: 20, learningRate: 0.03 });
  const out = await runAttack(spsa, scoreOracle(reference.model), x, y, { eps: 0.3, norm: 'linf', seed: 2 });
  assert.ok(robustAccuracy(out) <= 0.25, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, linf);
  assert.ok(Math.max(...out.diagnostics!.queriesPerExample!) <= 1 + 20 * 33);
});

test('SPSA with sign steps works too, and the registry builds it', async () => {
  const spsa = createAttack('spsa', { samples: 32, steps: 20, update: 'sign', learningRate: 0.03 });
  assert.equal(spsa.oracleKind, 'score');
  const out = await runAttack(spsa, scoreOracle(reference.model), x, y, { eps: 0.3, norm: 'linf', seed: 2 });
  assert.ok(robustAccuracy(out) <= 0.25, `robust accuracy ${robustAccuracy(out)}`);
});
