/**
 * `gibbon eval --attacks auto` on models that are not 10-class images: a two-logit classifier on
 * 16 tabular features. APGD-T has no class to target there and is left out with a note (never
 * fatal); Square runs its 1-D variant on the feature rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxModel } from '../../src/model/onnx-model.js';
import { readNpy, toFloat32, writeNpy } from '../../src/tensor/npy.js';
import { argmaxRows } from '../../src/tensor/tensor.js';
import { assertFails, assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const ZOO = join(ROOT, 'test', 'fixtures', 'zoo');
const MODEL = join(ZOO, 'two_class_features_op13.onnx');
const X = join(ZOO, 'two_class_features_op13.x.npy');
const { work, gibbon } = cliWorkspace('gibbon-eval-shapes-');
const THREAT = join(work, 'features-linf.yaml');

/** Labels (the model's own predictions) and a threat model that reads them. */
async function labelsFile(): Promise<string> {
  const model = await OnnxModel.load(MODEL, { threads: 1 });
  try {
    const x = readNpy(X);
    const labels = argmaxRows(await model.logits({ data: toFloat32(x), shape: [...x.shape] }));
    const path = join(work, 'y.npy');
    writeNpy(path, { type: 'int32', data: Int32Array.from(labels), shape: [labels.length] });
    writeFileSync(THREAT, `knowledge: white-box\nnorm: linf\neps: [0.3]\ninput:\n  bounds: [0, 1]\ndata: { x: ${X}, labels: ${path} }\nseed: 0\n`);
    return path;
  } finally {
    await model.dispose();
  }
}

test('auto on a 2-class feature model: APGD-T is left out with a note, APGD-CE, FAB-T (the one other class) and Square (1-D) run', async () => {
  await labelsFile();
  const out = join(work, 'report');
  const r = await gibbon('eval', MODEL, '--threat', THREAT, '--n', '8', '--attacks', 'auto', '--out', out, '--threads', '1');
  assertOk(r);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    clean_accuracy: number;
    attacks: { name: string; accuracy: number }[];
    warnings: { code: string; message: string }[];
  };
  assert.equal(report.clean_accuracy, 1);
  assert.deepEqual(
    report.attacks.map((a) => a.name).filter((name) => !name.endsWith('(check)')),
    ['apgd-ce', 'fab-t', 'square'],
  );
  assert.ok(
    report.warnings.some((w) => /'apgd-t' left out of the 'auto' ensemble: apgd-t: a 2-class model has no other class to target/.test(w.message)),
    JSON.stringify(report.warnings),
  );
  // ε 0.3 in L∞ on 16 features in [0, 1] is a large budget: nothing survives.
  assert.ok(report.attacks[1]!.accuracy <= report.attacks[0]!.accuracy);
});

test('an explicit apgd-t on a 2-class model is refused up front, naming the reason', async () => {
  await labelsFile();
  const r = await gibbon('eval', MODEL, '--threat', THREAT, '--n', '4', '--attacks', 'apgd-t', '--out', join(work, 'r2'), '--threads', '1');
  assertFails(r, /attack 'apgd-t' cannot run on this model: apgd-t: a 2-class model has no other class to target/);
});

test('--save-adversarials writes eps-<ε>.npy and a manifest; every saved point is inside the budget and misclassified when rerun', async () => {
  await labelsFile();
  const out = join(work, 'r3');
  const saved = join(work, 'adv');
  const r = await gibbon('eval', MODEL, '--threat', THREAT, '--n', '8', '--attacks', 'fast', '--out', out, '--save-adversarials', saved, '--threads', '1');
  assertOk(r);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { robust_accuracy: { eps: number; accuracy: number }[] };
  const manifest = JSON.parse(readFileSync(join(saved, 'manifest.json'), 'utf8')) as {
    files: Record<string, string>;
    input_shape: number[];
    examples: { index: number; eps: number; attack: string; label: number; predicted: number; file: string; row: number; distance: number }[];
  };
  assert.deepEqual(manifest.input_shape, [16]);
  const broken = Math.round((1 - report.robust_accuracy[0]!.accuracy) * 8);
  assert.ok(broken > 0, 'the attack should break some examples at ε 0.3');
  assert.equal(manifest.examples.length, broken);
  const points = readNpy(join(saved, manifest.files['0.3']!));
  assert.deepEqual(points.shape, [broken, 16]);
  const clean = readNpy(X);
  const model = await OnnxModel.load(MODEL, { threads: 1 });
  try {
    const z = argmaxRows(await model.logits({ data: toFloat32(points), shape: [...points.shape] }));
    manifest.examples.forEach((e, k) => {
      assert.equal(e.row, k);
      assert.equal(z[k], e.predicted);
      assert.notEqual(e.predicted, e.label, `example ${e.index} is saved but not misclassified`);
      let d = 0;
      for (let j = 0; j < 16; j++) d = Math.max(d, Math.abs(toFloat32(points)[k * 16 + j]! - toFloat32(clean)[e.index * 16 + j]!));
      assert.ok(d <= 0.3 + 1e-6 && Math.abs(d - e.distance) < 1e-6, `distance ${d} vs ${e.distance}`);
    });
  } finally {
    await model.dispose();
  }
});
