/**
 * Attacks against the PyTorch reference (test/fixtures/reference, from shared/reference):
 * deterministic L∞ PGD (no random start, ε 0.1, step 0.01, 20 steps, cross-entropy) on the 256
 * reference images reproduces the reference robust accuracy (manifest pgd_accuracy_256) within
 * one point, for each model. The trajectories are chaotic where gradients are ~0 (see the
 * manifest's pgd_comparison_note), so accuracies are compared, not pixels.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAttack } from '../src/attacks/attack.js';
import { PgdAttack } from '../src/attacks/pgd.js';
import { assertWithinBudget, robustAccuracy } from '../src/attacks/testing/assertions.js';
import { REFERENCE_DIR, referenceInputs, referenceModelPath } from '../src/attacks/testing/reference-data.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { gradientOracle } from '../src/model/oracles.js';
import { linf } from '../src/norms/linf.js';

const manifest = JSON.parse(readFileSync(join(REFERENCE_DIR, 'manifest.json'), 'utf8')) as {
  models: Record<string, { pgd_accuracy_256: number; clean_accuracy_256: number }>;
};
const { x, y } = referenceInputs(256);

for (const name of ['mnist_mlp', 'mnist_cnn', 'ops_zoo'] as const) {
  describe(`reference PGD ${name}`, () => {
    let model: OnnxModel;
    before(async () => {
      model = await OnnxModel.load(referenceModelPath(name), { threads: 2 });
    });
    after(async () => model.dispose());

    test('deterministic PGD (ε 0.1, step 0.01, 20 steps) matches the reference robust accuracy within 1 point', async () => {
      const pgd = new PgdAttack({ randomStart: false, absStepsize: 0.01, steps: 20, loss: 'ce' });
      const out = await runAttack(pgd, gradientOracle(model), x, y, { eps: 0.1, norm: 'linf' });
      const expected = manifest.models[name]!.pgd_accuracy_256;
      const got = robustAccuracy(out);
      assert.ok(Math.abs(got - expected) <= 0.01, `robust accuracy ${got} vs reference ${expected}`);
      assert.equal(1 - out.cleanSuccess.reduce((a, b) => a + b, 0) / 256, manifest.models[name]!.clean_accuracy_256);
      assertWithinBudget(out, x, linf);
    });
  });
}
