/**
 * `gibbon eval` with a physical threat model (issue 18, deliverable 3): the file names saved
 * patches or a UAP with the SHA-256 of their values; eval measures them on held-out data, on a
 * transfer model, under held-out transforms and print-and-scan, and reports the same numbers as
 * the library; one patch per target gives the per-target table; a changed, missing, mis-sized or
 * mis-kinded saved file is refused with one line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainPatch } from '../../src/attacks/patch.js';
import { measurePatch } from '../../src/attacks/patch-measure.js';
import { foolingRate } from '../../src/attacks/uap.js';
import { loadLabelledData } from '../../src/data/datasets.js';
import { OnnxModel } from '../../src/model/onnx-model.js';
import { gradientOracle } from '../../src/model/oracles.js';
import { linf } from '../../src/norms/linf.js';
import { createPatchSet } from '../../src/physical/patch-set.js';
import { placementGrid } from '../../src/physical/placement.js';
import { savePerturbation } from '../../src/physical/saved-perturbation.js';
import { IDENTITY_RANGES, type TransformRanges } from '../../src/physical/transforms.js';
import { createUniversalSet, projectUniversal } from '../../src/physical/universal-set.js';
import { deriveSeed, Rng } from '../../src/random.js';
import { assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const MODEL = join(ROOT, 'models', 'mnist-standard.onnx');
const ROBUST = join(ROOT, 'models', 'mnist-robust.onnx');
const image = { channels: 1, height: 28, width: 28 };
const bounds = { lower: 0, upper: 1 };
const ranges: TransformRanges = { rotation: 20, scale: [0.8, 1.2], brightness: 0.1, contrast: 0.1, blur: 0.5, noise: 0.02, printScan: false };
const train = loadLabelledData({ name: 'mnist', split: 'train', limit: 300 });
const held = loadLabelledData({ name: 'mnist', split: 'test', limit: 120 });
const { work, gibbon } = cliWorkspace('gibbon-physical-eval-');
let model: OnnxModel;
const patches: { target: number; sha256: string; values: Float32Array }[] = [];
const set = createPatchSet(image, { size: 8 });

function savePatch(dir: string, target: number, values: Float32Array, inputShape = [1, 28, 28]): string {
  return savePerturbation(join(work, dir, 'patch'), {
    kind: 'patch',
    inputShape,
    valuesShape: [1, 8, 8],
    values,
    alpha: set.mask,
    patch: { shape: 'square', side: 8, area: set.area, fraction: set.fraction },
    target,
    transforms: ranges,
    dpi: 300,
    mm: 30,
    training: {},
  });
}

function manifestSha(dir: string): string {
  return JSON.parse(readFileSync(join(work, dir, 'patch.json'), 'utf8')).values.sha256;
}

before(async () => {
  model = await OnnxModel.load(MODEL, { threads: 2 });
  for (const target of [3, 8]) {
    const s = await trainPatch(
      gradientOracle(model),
      { data: train.x, shape: [train.n, 1, 28, 28] },
      train.y,
      set,
      ranges,
      { target, seed: target },
      { steps: 30 },
    );
    savePatch(`p${target}`, target, s.patch);
    patches.push({ target, sha256: manifestSha(`p${target}`), values: s.patch });
  }
});
after(() => model.dispose());

function threat(name: string, body: string): string {
  writeFileSync(join(work, name), body);
  return name;
}

test('gibbon eval measures the saved patches a threat model pins, per target, on a transfer model, with the library numbers', async () => {
  const tm = threat(
    'patches.yaml',
    `perturbation: patch
name: stickers
saved:
  - { manifest: p3/patch.json, sha256: ${patches[0]!.sha256} }
  - { manifest: p8/patch.json, sha256: ${patches[1]!.sha256} }
data: mnist-test
n: 120
seed: 4
transfer: [${ROBUST}]
`,
  );
  const r = await gibbon('eval', MODEL, '--threat', tm, '--out', 'r', '--threads', '2');
  assertOk(r);
  assert.match(r.stdout, /→ 3, held-out transforms, .*mnist-standard\.onnx: \d+\.\d% .*accuracy \d+\.\d% clean → \d+\.\d% with it/);
  assert.match(r.stdout, /per target class: 3 \d+\.\d%, 8 \d+\.\d%/);
  const report = JSON.parse(readFileSync(join(work, 'r', 'report.json'), 'utf8'));
  assert.equal(report.perTarget.length, 2);
  assert.equal(report.threatModel.name, 'stickers');
  const x = { data: held.x, shape: [held.n, 1, 28, 28] };
  for (const [i, p] of patches.entries()) {
    const expected = await measurePatch(model, x, held.y, set, p.values, ranges, { target: p.target, seed: deriveSeed(4, 'held-out'), bounds });
    assert.equal(report.perTarget[i].successes, expected.successes, `target ${p.target}`);
    assert.equal(report.perTarget[i].eligible, expected.eligible);
  }
  const labels = report.conditions.map((c: { label: string }) => c.label);
  assert.ok(labels.includes(`→ 8, held-out transforms + print-and-scan, ${ROBUST}`), labels.join(' | '));
  const first = report.conditions[0];
  assert.ok(first.cleanAccuracy > 0.95 && first.accuracy <= first.cleanAccuracy, `accuracy ${first.cleanAccuracy} → ${first.accuracy}`);
  assert.ok(report.scaleSweep.length >= 3 && report.rotationSweep.length >= 3);
  assert.match(readFileSync(join(work, 'r', 'report.html'), 'utf8'), /Per target class/);
});

test('best placement: the attacker tries a grid of centres per input, reported beside random placement', async () => {
  const tm = threat(
    'best.yaml',
    `perturbation: patch\nsaved: { manifest: p8/patch.json, sha256: ${patches[1]!.sha256} }\ndata: mnist-test\nn: 60\nprint_scan: false\nplacement: { best: [2, 3] }\n`,
  );
  assertOk(await gibbon('eval', MODEL, '--threat', tm, '--out', 'b', '--threads', '2'));
  const report = JSON.parse(readFileSync(join(work, 'b', 'report.json'), 'utf8'));
  assert.match(report.placement, /best of a 2 × 3 grid/);
  const x = { data: held.x.subarray(0, 60 * 784), shape: [60, 1, 28, 28] };
  const expected = await measurePatch(model, x, held.y.subarray(0, 60), set, patches[1]!.values, ranges, {
    target: 8,
    seed: deriveSeed(0, 'held-out'),
    bounds,
    centres: placementGrid(set, ranges, 2, 3),
  });
  assert.equal(report.conditions[0].successes, expected.successes);
  const random = report.conditions.find((c: { label: string }) => c.label.startsWith('random placement'));
  assert.ok(report.conditions[0].rate >= random.rate, `best ${report.conditions[0].rate}, random ${random.rate}`);
});

test('a universal threat model: the fooling rate of the pinned UAP on both models, as the library measures it', async () => {
  const uapSet = createUniversalSet(linf, 0.3, [1, 28, 28], bounds);
  const rng = new Rng(9);
  const delta = projectUniversal(
    uapSet,
    Float32Array.from({ length: 784 }, () => (rng.uniform() < 0.5 ? -0.3 : 0.3)),
  );
  savePerturbation(join(work, 'u', 'uap'), {
    kind: 'uap',
    inputShape: [1, 28, 28],
    valuesShape: [1, 28, 28],
    values: delta,
    universal: { norm: 'linf', eps: 0.3 },
    target: null,
    transforms: IDENTITY_RANGES,
    dpi: 300,
    mm: 40,
    training: {},
  });
  const sha = JSON.parse(readFileSync(join(work, 'u', 'uap.json'), 'utf8')).values.sha256;
  const tm = threat(
    'uap.json',
    JSON.stringify({ perturbation: 'universal', saved: { manifest: 'u/uap.json', sha256: sha }, data: 'mnist-test', n: 100, transfer: [ROBUST] }),
  );
  const r = await gibbon('eval', MODEL, '--threat', tm, '--out', 'ur', '--threads', '2');
  assertOk(r);
  const report = JSON.parse(readFileSync(join(work, 'ur', 'report.json'), 'utf8'));
  const expected = await foolingRate(model, uapSet, { data: held.x.subarray(0, 78400), shape: [100, 1, 28, 28] }, delta);
  assert.equal(
    report.conditions[0].successes,
    expected.fooled.reduce((a, b) => a + b, 0),
  );
  assert.equal(report.conditions[1].label, `held-out inputs, ${ROBUST}`);
  assert.equal(report.epsSweep.length, 4);
});

test('a changed, missing, mis-sized or mis-kinded saved perturbation is refused with one line', async () => {
  const one = async (name: string, body: string): Promise<string> => {
    const r = await gibbon('eval', MODEL, '--threat', threat(name, body), '--out', 'x');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    return r.stderr;
  };
  const p3 = patches[0];
  // The threat model pins another digest than the saved values have.
  assert.match(
    await one(
      'pin.yaml',
      `perturbation: patch\nsaved: [{ manifest: p3/patch.json, sha256: ${p3!.sha256} }, { manifest: p8/patch.json, sha256: ${p3!.sha256} }]\ndata: mnist-test\n`,
    ),
    /p8\/patch\.json: the saved values' SHA-256 is .* but .*pin\.yaml pins .* \(saved\[1\]\.sha256\)/,
  );
  assert.match(
    await one('missing.yaml', `perturbation: patch\nsaved: { manifest: nowhere/patch.json, sha256: ${p3!.sha256} }\ndata: mnist-test\n`),
    /file not found: .*nowhere\/patch\.json/,
  );
  // A saved patch for 32×32 inputs.
  savePatch('p32', 3, p3!.values, [1, 32, 32]);
  assert.match(
    await one('size.yaml', `perturbation: patch\nsaved: { manifest: p32/patch.json, sha256: ${manifestSha('p32')} }\ndata: mnist-test\n`),
    /is a patch for inputs of shape \[1, 32, 32\], but the model's inputs are \[1, 28, 28\]/,
  );
  assert.match(
    await one('kind.yaml', `perturbation: universal\nsaved: { manifest: p3/patch.json, sha256: ${p3!.sha256} }\ndata: mnist-test\n`),
    /is a patch, but .*kind\.yaml says perturbation: universal/,
  );
  assert.match(
    await one('bad.yaml', `perturbation: patch\nsaved: { manifest: p3/patch.json, sha256: abc }\ndata: mnist-test\n`),
    /saved\.sha256: must be 64 lowercase hex digits/,
  );
  // The .npy altered after saving: its checksum no longer matches the manifest.
  const npy = readFileSync(join(work, 'p3', 'patch.npy'));
  npy[npy.length - 1] ^= 1;
  writeFileSync(join(work, 'p3', 'patch.npy'), npy);
  assert.match(
    await one('altered.yaml', `perturbation: patch\nsaved: { manifest: p3/patch.json, sha256: ${p3!.sha256} }\ndata: mnist-test\n`),
    /patch\.npy does not match the manifest's SHA-256/,
  );
});
