import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../../errors.js';
import { loadModel } from '../../onnx/model.js';
import { auroc, rates } from '../roc.js';
import { checkDetectorFitsModel, parseDetectorFile, readDetectorFile, writeDetectorFile } from './detector-file.js';
import { EquippedModel } from './equipped-model.js';
import { fitDetector } from './fit.js';
import { ROBUST_MODEL, smallFitData, STANDARD_MODEL, testImages } from './testing/mnist-fixtures.js';

const model = loadModel(STANDARD_MODEL);
const data = smallFitData(3000, 1000);

async function scores(file: { detector: Parameters<typeof EquippedModel.create>[1] }, x: Parameters<EquippedModel['run']>[0]): Promise<Float32Array> {
  const m = await EquippedModel.create(model, file.detector, { threads: 2 });
  try {
    return (await m.run(x)).score;
  } finally {
    await m.dispose();
  }
}

test('calibration: the threshold flags the target fraction of held-out data, and about that of clean test data', async () => {
  const file = await fitDetector(model, data, { kind: 'energy', targetFpr: 0.1 }, 'test');
  assert.equal(file.calibration.calibration_examples, 1000);
  assert.equal(file.calibration.fpr, 0.1); // exactly ⌊0.1·1000⌋ flagged on the calibration set
  assert.equal(file.calibration.fit_examples, 0);
  assert.equal(file.model.sha256, model.sha256);
  const clean = await scores(file, testImages('mnist', 1000).x);
  const fpr = rates([], clean, file.threshold).fpr;
  assert.ok(Math.abs(fpr - 0.1) < 0.04, `clean test FPR ${fpr} should be near the 10% target`);
});

test('OOD: MNIST versus Fashion-MNIST (300 each) is well separated by mahalanobis and energy', async () => {
  const inn = testImages('mnist', 300).x;
  const out = testImages('fashion-mnist', 300).x;
  const maha = await fitDetector(model, data, { kind: 'mahalanobis' }, 'test');
  assert.match(maha.features_choice!, /before its Relu/);
  assert.equal(maha.calibration.fit_examples, 2000);
  const a = auroc(await scores(maha, out), await scores(maha, inn));
  assert.ok(a > 0.95, `mahalanobis AUROC ${a}`);
  const energy = await fitDetector(model, data, { kind: 'energy' }, 'test');
  const b = auroc(await scores(energy, out), await scores(energy, inn));
  assert.ok(b > 0.93, `energy AUROC ${b}`);
});

test('combined: parts standardised on calibration data; the file round-trips through zod', async () => {
  const file = await fitDetector(model, data, { kind: 'combined', parts: ['msp', 'energy'] }, 'test');
  assert.equal(file.detector.kind, 'combined');
  if (file.detector.kind !== 'combined') return;
  assert.deepEqual(
    file.detector.parts.map((p) => p.detector.kind),
    ['msp', 'energy'],
  );
  assert.ok(file.detector.parts.every((p) => p.std > 0));
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-detector-'));
  writeDetectorFile(join(dir, 'd.json'), file);
  assert.deepEqual(readDetectorFile(join(dir, 'd.json')), JSON.parse(JSON.stringify(file)));
});

test('a detector from another model is refused, naming both files', async () => {
  const file = await fitDetector(model, data, { kind: 'msp' }, 'test');
  assert.throws(
    () => checkDetectorFitsModel(file, loadModel(ROBUST_MODEL), 'det.json', 'models/mnist-robust.onnx'),
    (e: unknown) =>
      e instanceof GibbonError &&
      e.location.path === 'det.json' &&
      /det\.json was fitted on another model/.test(e.message) &&
      /mnist-robust\.onnx/.test(e.message) &&
      /gibbon detect fit/.test(e.message),
  );
  checkDetectorFitsModel(file, loadModel(STANDARD_MODEL), 'det.json', 'models/mnist-standard.onnx');
});

test('a features node that is not in the model is named, with candidates', async () => {
  await assert.rejects(
    fitDetector(model, data, { kind: 'mahalanobis', features: 'cnn/penultimate' }, 'test'),
    (e: unknown) =>
      e instanceof GibbonError &&
      e.location.option === 'features' &&
      /features node 'cnn\/penultimate' not found in .*mnist-standard\.onnx/.test(e.message) &&
      /cnn\/fc1_node_15/.test(e.message),
  );
  // A node name selects its first output.
  const file = await fitDetector(model, smallFitData(1200, 200), { kind: 'mahalanobis', features: 'cnn/Relu_node_17' }, 'test');
  assert.equal(file.detector.kind === 'mahalanobis' && file.detector.features, 'cnn/Relu_16');
});

test('a malformed detector file is a GibbonError naming the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-detector-'));
  const path = join(dir, 'bad.json');
  writeFileSync(path, JSON.stringify({ format: 'gibbon-detector', version: 1 }));
  assert.throws(
    () => readDetectorFile(path),
    (e: unknown) => e instanceof GibbonError && e.location.path === path && /bad\.json is not a valid gibbon detector file: /.test(e.message),
  );
  writeFileSync(path, '{ nope');
  assert.throws(() => readDetectorFile(path), /is not JSON/);
  assert.throws(
    () => readDetectorFile(join(dir, 'missing.json')),
    (e: unknown) => e instanceof GibbonError && e.code === 'file_not_found',
  );
  assert.throws(() => parseDetectorFile({ format: 'gibbon-detector' }, 'x.json'), /x\.json is not a valid gibbon detector file: version/);
});
