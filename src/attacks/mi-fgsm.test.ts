import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientOracle } from '../model/oracles.js';
import { linf } from '../norms/linf.js';
import { runAttack } from './attack.js';
import { MiFgsmAttack } from './mi-fgsm.js';
import { assertWithinBudget, robustAccuracy } from './testing/assertions.js';
import { loadedReferenceModel, referenceInputs } from './testing/reference-data.js';

const { x, y } = referenceInputs(64);
const reference = loadedReferenceModel();

test('MI-FGSM L∞: ε=0.3 leaves ≤ 5%, ε=0.1 ≤ 15% robust accuracy, inside the budget, deterministic', async () => {
  const [strong, weak] = await runAttack(new MiFgsmAttack(), gradientOracle(reference.model), x, y, { eps: [0.3, 0.1], norm: 'linf' });
  assert.ok(robustAccuracy(strong!) <= 0.05, `ε=0.3: ${robustAccuracy(strong!)}`);
  assert.ok(robustAccuracy(weak!) <= 0.15, `ε=0.1: ${robustAccuracy(weak!)}`);
  assertWithinBudget(strong!, x, linf);
  assertWithinBudget(weak!, x, linf);
  const again = await runAttack(new MiFgsmAttack(), gradientOracle(reference.model), x, y, { eps: 0.1, norm: 'linf', seed: 99 });
  assert.deepEqual(again.clipped.data, weak!.clipped.data, 'no randomness: the seed does not matter');
});

test('defaults follow the paper: T = 10, μ = 1, α = ε/T', () => {
  const o = new MiFgsmAttack().options;
  assert.deepEqual([o.steps, o.decay, o.relStepsize], [10, 1, 0.1]);
});
