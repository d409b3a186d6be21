import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientOracle } from '../model/oracles.js';
import { l2 } from '../norms/l2.js';
import { linf } from '../norms/linf.js';
import { runAttack } from './attack.js';
import { DeepFoolAttack } from './deepfool.js';
import { assertWithinBudget, meanNormOfSuccesses, robustAccuracy } from './testing/assertions.js';
import { loadedReferenceModel, referenceInputs } from './testing/reference-data.js';

const { x, y } = referenceInputs(64);
const reference = loadedReferenceModel();

test('DeepFool L2 flips ≥ 90% with a small mean L2', async () => {
  const out = await runAttack(new DeepFoolAttack(), gradientOracle(reference.model), x, y, { eps: 5, norm: 'l2' });
  assert.ok(robustAccuracy(out) <= 0.1, `robust accuracy ${robustAccuracy(out)}`);
  const mean = meanNormOfSuccesses(out);
  assert.ok(mean < 1.2, `mean L2 ${mean}`);
  assertWithinBudget(out, x, l2);
  assert.ok(out.steps <= 50);
});

test('DeepFool L∞ flips ≥ 90% with a small mean L∞', async () => {
  const out = await runAttack(new DeepFoolAttack(), gradientOracle(reference.model), x, y, { eps: 0.3, norm: 'linf' });
  assert.ok(robustAccuracy(out) <= 0.1, `robust accuracy ${robustAccuracy(out)}`);
  const mean = meanNormOfSuccesses(out);
  assert.ok(mean < 0.1, `mean L∞ ${mean}`);
  assertWithinBudget(out, x, linf);
});

test('untargeted only; options validated', async () => {
  await assert.rejects(
    runAttack(new DeepFoolAttack(), gradientOracle(reference.model), x, y, { eps: 1, norm: 'l2', targets: Int32Array.from(y, (v) => (v + 1) % 10) }),
    /'deepfool' is untargeted/,
  );
  assert.throws(() => new DeepFoolAttack({ candidates: 1 }), /candidates must be an integer ≥ 2/);
  assert.deepEqual(new DeepFoolAttack().options, { steps: 50, overshoot: 0.02, candidates: 10 });
});
