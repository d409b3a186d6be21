import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAttack } from '../../attacks/attack.js';
import { PgdAttack } from '../../attacks/pgd.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { gradientOracle } from '../../model/oracles.js';
import { normByName } from '../../norms/index.js';
import { argmaxRows, type Tensor } from '../../tensor/tensor.js';
import { loadModel } from '../../onnx/model.js';
import { EquippedModel } from './equipped-model.js';
import { adaptiveAttack, ADAPTIVE_DEFAULTS } from './adaptive-attack.js';
import { evaluateDetector, quantizerLevels } from './evaluate-detector.js';
import { fitDetector } from './fit.js';
import { smallFitData, STANDARD_MODEL, testImages } from './testing/mnist-fixtures.js';

/** An energy detector calibrated on the first `total` training images, the classifier, and the two models. */
async function energySetup(total: number) {
  const ir = loadModel(STANDARD_MODEL);
  const file = await fitDetector(ir, smallFitData(total, 1000), { kind: 'energy' }, 'test');
  return { file, classifier: await OnnxModel.load(STANDARD_MODEL, { threads: 2 }), equipped: await EquippedModel.create(ir, file.detector, { threads: 2 }) };
}

test('the adaptive attack lowers detection AUROC and raises undetected success versus plain PGD', async () => {
  const { file, classifier, equipped } = await energySetup(3000);
  try {
    const inn = testImages('mnist', 60);
    const report = await evaluateDetector({
      classifier,
      equipped,
      detector: file,
      detectorPath: 'detector.json',
      modelPath: 'mnist-standard.onnx',
      inDistribution: { name: 'mnist:test', ...inn },
      outOfDistribution: [],
      attackN: 40,
      eps: 0.3,
      seed: 0,
      plainAttacks: ['pgd'],
      adaptive: { steps: 30, lambdas: [1, 10] },
      gibbonVersion: 'test',
    });
    const plain = report.rows.find((r) => r.kind === 'plain')!;
    const adaptive = report.rows.find((r) => r.kind === 'adaptive')!;
    assert.equal(plain.attacked, 40);
    assert.equal(adaptive.attacked, 40);
    // PGD against the standard model succeeds; the detector catches much of it …
    assert.ok(plain.misclassified_rate! > 0.9, `plain PGD misclassified ${plain.misclassified_rate}`);
    assert.ok(plain.auroc! > 0.85, `plain AUROC ${plain.auroc}`);
    // … and the attacker who knows the detector gets through.
    assert.ok(adaptive.auroc! < plain.auroc! - 0.02, `adaptive AUROC ${adaptive.auroc} vs plain ${plain.auroc}`);
    assert.ok(
      adaptive.undetected_success_rate! > plain.undetected_success_rate! + 0.3,
      `undetected ${adaptive.undetected_success_rate} vs ${plain.undetected_success_rate}`,
    );
    assert.ok(adaptive.tpr_at_threshold! < plain.tpr_at_threshold!);
    assert.deepEqual(report.adaptive?.lambdas, [1, 10]);
  } finally {
    await equipped.dispose();
    await classifier.dispose();
  }
});

test('quantizerLevels finds the one quantising squeezer of a squeeze or combined detector', () => {
  assert.equal(quantizerLevels({ kind: 'squeeze', squeezers: ['bit-depth:1', 'median:2'] }), 2);
  assert.equal(quantizerLevels({ kind: 'squeeze', squeezers: ['quantize:16'] }), 16);
  assert.equal(quantizerLevels({ kind: 'squeeze', squeezers: ['bit-depth:1', 'bit-depth:3'] }), undefined);
  assert.equal(quantizerLevels({ kind: 'combined', parts: [{ detector: { kind: 'squeeze', squeezers: ['median:2', 'bit-depth:2'] }, mean: 0, std: 1 }] }), 4);
  assert.equal(quantizerLevels({ kind: 'msp' }), undefined);
});

test('against feature squeezing, pinning searched 1-bit levels breaks examples that BPDA alone does not', async () => {
  const ir = loadModel(STANDARD_MODEL);
  const file = await fitDetector(ir, smallFitData(1200, 1000), { kind: 'squeeze', squeezers: ['bit-depth:1', 'median:2'] }, 'test');
  const equipped = await EquippedModel.create(ir, file.detector, { threads: 2 });
  try {
    const inn = testImages('mnist', 12);
    const facts = { threshold: file.threshold, scale: file.calibration.score_std, quantizerLevels: 2 };
    const run = (quantizedSearch: boolean) =>
      adaptiveAttack(equipped, inn.x, inn.y, facts, { ...ADAPTIVE_DEFAULTS, eps: 0.3, steps: 10, lambdas: [10], quantizedSearch }, { seed: 0 });
    const off = await run(false);
    const on = await run(true);
    const count = (s: Uint8Array) => s.reduce((a, v) => a + v, 0);
    assert.equal(off.searchQueries, 0);
    assert.ok(on.searchQueries > 0);
    assert.ok(count(on.success) >= count(off.success) + 2, `successes with the search ${count(on.success)}, without ${count(off.success)}`);
    // Every adversarial example stays in the ε-ball ∩ [0, 1].
    for (let j = 0; j < inn.x.data.length; j++) {
      const v = on.adversarial.data[j]!;
      assert.ok(v >= 0 && v <= 1 && Math.abs(v - inn.x.data[j]!) <= 0.3 + 1e-6);
    }
  } finally {
    await equipped.dispose();
  }
});

test('an L2 adaptive attack (PGD or APGD through the harness) evades the energy detector where plain L2 PGD is caught', async () => {
  const { file, classifier, equipped } = await energySetup(2000);
  try {
    const { x, y } = testImages('mnist', 20);
    const eps = 3;
    const count = (s: Uint8Array) => s.reduce((a, v) => a + v, 0);
    const undetected = async (adv: Tensor) => {
      const r = await equipped.run(adv);
      const predicted = argmaxRows(r.logits);
      return Uint8Array.from(predicted, (p, i) => (p !== y[i] && r.score[i]! <= file.threshold ? 1 : 0));
    };
    const plain = await runAttack(new PgdAttack({ steps: 20, relStepsize: 0.1 }), gradientOracle(classifier), x, y, { eps, norm: 'l2', seed: 0 });
    const facts = { threshold: file.threshold, scale: file.calibration.score_std };
    const options = { ...ADAPTIVE_DEFAULTS, eps, norm: 'l2' as const, steps: 20, lambdas: [1, 10] };
    const pgd = await adaptiveAttack(equipped, x, y, facts, options, { seed: 0 });
    const apgd = await adaptiveAttack(equipped, x, y, facts, { ...options, attack: 'apgd' }, { seed: 0 });
    const caught = count(await undetected(plain.clipped));
    assert.deepEqual(Array.from(await undetected(pgd.adversarial)), Array.from(pgd.success), 'success is what a fresh forward pass says');
    assert.ok(count(pgd.success) >= 18 && count(pgd.success) >= caught + 5, `adaptive L2 PGD: ${count(pgd.success)}/20 undetected; plain L2 PGD: ${caught}/20`);
    assert.ok(count(apgd.success) >= 18, `adaptive L2 APGD: ${count(apgd.success)}/20 undetected`);
    for (const r of [pgd, apgd]) {
      const d = normByName('l2').distance(r.adversarial, x);
      assert.ok(
        d.every((v) => v <= eps + 1e-4),
        `L2 distances ${Math.max(...d)}`,
      );
      assert.ok(r.adversarial.data.every((v) => v >= 0 && v <= 1));
      assert.equal(r.searchQueries, 0);
    }
  } finally {
    await equipped.dispose();
    await classifier.dispose();
  }
});
