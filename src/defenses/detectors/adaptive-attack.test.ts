import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxModel } from '../../model/onnx-model.js';
import { loadModel } from '../../onnx/model.js';
import { EquippedModel } from './equipped-model.js';
import { evaluateDetector } from './evaluate-detector.js';
import { fitDetector } from './fit.js';
import { smallFitData, STANDARD_MODEL, testImages } from './testing/mnist-fixtures.js';

test('the adaptive attack lowers detection AUROC and raises undetected success versus plain PGD', async () => {
  const ir = loadModel(STANDARD_MODEL);
  const file = await fitDetector(ir, smallFitData(3000, 1000), { kind: 'energy' }, 'test');
  const classifier = await OnnxModel.load(STANDARD_MODEL, { threads: 2 });
  const equipped = await EquippedModel.create(ir, file.detector, { threads: 2 });
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
