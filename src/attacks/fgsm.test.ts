import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientOracle } from '../model/oracles.js';
import { l2 } from '../norms/l2.js';
import { linf } from '../norms/linf.js';
import { runAttack } from './attack.js';
import { FgsmAttack } from './fgsm.js';
import { assertWithinBudget, robustAccuracy } from './testing/assertions.js';
import { loadedReferenceModel, referenceInputs } from './testing/reference-data.js';

const { x, y } = referenceInputs(64);
const reference = loadedReferenceModel();

test('FGSM L∞ ε=0.3 flips ≥ 90% of an undefended MLP, inside the budget', async () => {
  const out = await runAttack(new FgsmAttack(), gradientOracle(reference.model), x, y, { eps: 0.3, norm: 'linf' });
  assert.ok(robustAccuracy(out) <= 0.1, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, linf);
  assert.equal(out.steps, 1);
  assert.equal(out.queries, 2 * out.attacked.length, 'one gradient and one forward query per example');
});

test('FGM (L2) ε=2 stays in the L2 ball and flips most examples', async () => {
  const out = await runAttack(new FgsmAttack(), gradientOracle(reference.model), x, y, { eps: 2, norm: 'l2' });
  assert.ok(robustAccuracy(out) <= 0.3, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, l2);
});

test('options are validated', () => {
  assert.throws(() => new FgsmAttack({ loss: 'hinge' as 'ce' }), /fgsm: option loss must be one of 'ce', 'margin', 'dlr'; got "hinge"/);
  assert.throws(() => new FgsmAttack({ steps: 3 } as object), /fgsm: unknown option 'steps'; valid: loss, randomStart/);
});
