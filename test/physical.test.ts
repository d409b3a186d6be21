/**
 * Physical attacks end to end (issue 18), small and fast: a UAP found by SGD on 600 MNIST training
 * images fools mnist-standard on held-out test images, more than a random perturbation of the same
 * size; a saved UAP and a saved patch reload bit for bit and give the same success; a trained
 * patch beats its random starting point; the CLI trains, saves, evaluates, resumes and refuses bad
 * input with one line; a patch changes what a CTC recogniser reads. The full measurements are
 * `npm run physical-acceptance`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initialPatch, trainPatch } from '../src/attacks/patch.js';
import { measureSequencePatch } from '../src/attacks/patch-sequence.js';
import { SequenceOnnxModel } from '../src/model/sequence-model.js';
import { measurePatch } from '../src/attacks/patch-measure.js';
import { foolingRate, trainUap } from '../src/attacks/uap.js';
import { loadLabelledData } from '../src/data/datasets.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { gradientOracle } from '../src/model/oracles.js';
import { linf } from '../src/norms/linf.js';
import { createPatchSet } from '../src/physical/patch-set.js';
import { checkFitsInput, loadPerturbation, savePerturbation } from '../src/physical/saved-perturbation.js';
import { IDENTITY_RANGES, type TransformRanges } from '../src/physical/transforms.js';
import { createUniversalSet, projectUniversal } from '../src/physical/universal-set.js';
import { Rng } from '../src/random.js';
import { decode } from 'fast-png';
import { assertOk, cliWorkspace, ROOT } from './helpers/cli.js';
import { CRNN_PATH } from './helpers/ctc-fixture.js';
import { CTC_PATCH_RANGES, ctcPatchLines, ctcPatchSet, trainCtcPatch } from './helpers/ctc-patch-lines.js';

const MODEL = join(ROOT, 'models', 'mnist-standard.onnx');
const train = loadLabelledData({ name: 'mnist', split: 'train', limit: 600 });
const test300 = loadLabelledData({ name: 'mnist', split: 'test', limit: 300 });
const x = { data: train.x, shape: [train.n, 1, 28, 28] };
const xt = { data: test300.x, shape: [test300.n, 1, 28, 28] };
const image = { channels: 1, height: 28, width: 28 };
const bounds = { lower: 0, upper: 1 };
const { work, gibbon } = cliWorkspace('gibbon-physical-');
let model: OnnxModel;

before(async () => {
  model = await OnnxModel.load(MODEL, { threads: 2 });
});
after(() => model.dispose());

test('UAP (SGD) at L∞ ε = 0.3 fools mnist-standard on held-out images far more than random noise of the same size; reloads bit for bit', async () => {
  const set = createUniversalSet(linf, 0.3, [1, 28, 28], bounds);
  const state = await trainUap(gradientOracle(model), set, x, { seed: 1 }, { epochs: 3 });
  assert.ok(Math.max(...state.delta.map(Math.abs)) <= 0.3 + 1e-6, 'δ stays in the ε-ball');
  const fooled = await foolingRate(model, set, xt, state.delta);
  const rng = new Rng(2);
  const noise = projectUniversal(
    set,
    Float32Array.from(state.delta, () => (rng.uniform() < 0.5 ? -0.3 : 0.3)),
  );
  const random = await foolingRate(model, set, xt, noise, fooled.clean);
  assert.ok(fooled.rate >= 0.3 && fooled.rate > random.rate + 0.15, `UAP fooling ${fooled.rate}, random ±ε noise ${random.rate}`);
  const path = savePerturbation(join(work, 'lib', 'uap'), {
    kind: 'uap',
    inputShape: [1, 28, 28],
    valuesShape: [1, 28, 28],
    values: state.delta,
    universal: { norm: 'linf', eps: 0.3 },
    target: null,
    transforms: IDENTITY_RANGES,
    dpi: 300,
    mm: 40,
    training: { test: true },
  });
  const back = loadPerturbation(path, 'uap');
  assert.deepEqual(back.values, state.delta);
  assert.equal((await foolingRate(model, set, xt, back.values, fooled.clean)).rate, fooled.rate);
  assert.throws(() => checkFitsInput(back, [3, 32, 32], '--uap'), /for inputs of shape \[1, 28, 28\], but the model's inputs are \[3, 32, 32\]/);
  // The PNG is 16-bit, within 1/65535 of the values (mapped from [−ε, ε]), and carries the print resolution.
  const png = decode(readFileSync(join(work, 'lib', 'uap.png')));
  assert.equal(png.depth, 16);
  const worst = Math.max(...Array.from(png.data as Uint16Array, (v, i) => Math.abs(v / 65535 - (state.delta[i]! / 0.3 + 1) / 2)));
  assert.ok(worst <= 0.5 / 65535 + 1e-7, `PNG error ${worst}`);
  assert.ok(png.resolution && png.resolution.x > 0);
});

test('a trained patch beats its random start, and a saved patch reloads and gives the same success', async () => {
  const set = createPatchSet(image, { size: { fraction: 0.1 } });
  const ranges: TransformRanges = { rotation: 20, scale: [0.8, 1.2], brightness: 0.1, contrast: 0.1, blur: 0.5, noise: 0.02, printScan: false };
  const state = await trainPatch(gradientOracle(model), x, train.y, set, ranges, { target: null, seed: 3 }, { steps: 40, batchSize: 32, learningRate: 0.05 });
  const run = { target: null, seed: 11, bounds };
  const trained = await measurePatch(model, xt, test300.y, set, state.patch, ranges, run);
  const start = await measurePatch(model, xt, test300.y, set, initialPatch(set, 3, bounds).patch, ranges, run);
  assert.ok(trained.rate > start.rate, `untargeted success ${trained.rate} after training, ${start.rate} at the start`);
  const path = savePerturbation(join(work, 'lib', 'patch'), {
    kind: 'patch',
    inputShape: [1, 28, 28],
    valuesShape: [1, set.patch.height, set.patch.width],
    values: state.patch,
    alpha: set.mask,
    patch: { shape: set.shape, side: set.patch.height, area: set.area, fraction: set.fraction },
    target: null,
    transforms: ranges,
    dpi: 300,
    mm: 30,
    training: {},
  });
  const back = loadPerturbation(path, 'patch');
  const again = await measurePatch(
    model,
    xt,
    test300.y,
    createPatchSet(image, { size: back.manifest.patch!.side }),
    back.values,
    back.manifest.transforms,
    run,
  );
  assert.equal(again.successes, trained.successes);
  assert.equal(again.eligible, trained.eligible);
  // A damaged .npy is refused by its checksum.
  const npy = readFileSync(join(work, 'lib', 'patch.npy'));
  npy[npy.length - 1] ^= 1;
  writeFileSync(join(work, 'lib', 'patch.npy'), npy);
  assert.throws(() => loadPerturbation(path, '--patch'), /does not match the manifest's SHA-256/);
});

test('gibbon patch train / eval: saves the patch files and the report, resumes, and evaluates on another model', async () => {
  const common = ['--size', '6', '--steps', '6', '--n', '64', '--eval-n', '60', '--threads', '2'];
  assertOk(await gibbon('patch', 'train', MODEL, '--target', '3', ...common, '--out', 'p'));
  for (const f of ['patch.json', 'patch.npy', 'patch.png', 'patch-print.png', 'checkpoint.json', 'report.json', 'report.html'])
    assert.ok(existsSync(join(work, 'p', f)), f);
  const report = JSON.parse(readFileSync(join(work, 'p', 'report.json'), 'utf8'));
  assert.equal(report.kind, 'patch');
  assert.equal(report.target, 3);
  assert.ok(report.scaleSweep.length >= 3 && report.rotationSweep.length >= 3);
  const resumed = await gibbon('patch', 'train', MODEL, '--target', '3', ...common, '--steps', '8', '--out', 'p', '--resume');
  assert.match(resumed.stderr, /from a different run .*steps/);
  const again = await gibbon('patch', 'train', MODEL, '--target', '3', ...common, '--out', 'p', '--resume');
  assertOk(again);
  assert.match(again.stderr, /resuming at step 6 of 6/);
  const robust = join(ROOT, 'models', 'mnist-robust.onnx');
  const evaluated = await gibbon('patch', 'eval', robust, '--patch', join('p', 'patch.json'), '--eval-n', '60', '--rotation', '30', '--out', 'e');
  assertOk(evaluated);
  assert.match(evaluated.stdout, /held-out transforms \+ print-and-scan: \d+\.\d%/);
});

test('bad physical-attack input fails with one line naming the problem', async () => {
  const big = await gibbon('patch', 'train', MODEL, '--size', '30', '--steps', '1', '--n', '8', '--out', 'big');
  assert.equal(big.code, 1);
  assert.match(big.stderr, /^✖ a patch of 30×30 pixels is larger than the 28×28 image.*\n$/);
  writeFileSync(
    join(work, 'empty.npy'),
    Buffer.concat([
      Buffer.from('\x93NUMPY\x01\x00v\x00', 'latin1'),
      Buffer.from(`{'descr': '|u1', 'fortran_order': False, 'shape': (28, 28), }`.padEnd(117) + '\n'),
      Buffer.alloc(784),
    ]),
  );
  const empty = await gibbon('patch', 'train', MODEL, '--size', '5', '--region', 'empty.npy', '--steps', '1', '--n', '8', '--out', 'empty');
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /region mask empty\.npy is empty/);
  const kind = await gibbon('uap', 'eval', MODEL, '--uap', join('p', 'patch.json'), '--eval-n', '10', '--out', 'k');
  assert.match(kind.stderr, /is a patch, not a UAP/);
  const manifest = JSON.parse(readFileSync(join(work, 'p', 'patch.json'), 'utf8'));
  writeFileSync(join(work, 'p', 'other.json'), JSON.stringify({ ...manifest, inputShape: [1, 32, 32] }));
  const size = await gibbon('patch', 'eval', MODEL, '--patch', join('p', 'other.json'), '--eval-n', '10', '--out', 'o');
  assert.equal(size.code, 1);
  assert.match(size.stderr, /is a patch for inputs of shape \[1, 32, 32\], but the model's inputs are \[1, 28, 28\]/);
  writeFileSync(join(work, 'p', 'escape.json'), JSON.stringify({ ...manifest, values: { ...manifest.values, npy: '../../etc/passwd' } }));
  const escape = await gibbon('patch', 'eval', MODEL, '--patch', join('p', 'escape.json'), '--eval-n', '10', '--out', 'o');
  assert.match(escape.stderr, /must be a file name beside the manifest/);
});

test('a patch ≤ 5% of a rendered text line changes the fixture classifier on held-out lines far more often than its random start', async () => {
  const dir = join(ROOT, 'test', 'fixtures', 'physical');
  const lines = loadLabelledData({ x: join(dir, 'lines_train.npy'), y: join(dir, 'labels_train.npy') });
  const held = loadLabelledData({ x: join(dir, 'lines_heldout.npy'), y: join(dir, 'labels_heldout.npy'), limit: 150 });
  const textModel = await OnnxModel.load(join(dir, 'text_line_classifier.onnx'), { threads: 2 });
  try {
    const set = createPatchSet({ channels: 1, height: 32, width: 96 }, { size: { fraction: 0.05 } });
    assert.ok(set.fraction <= 0.05);
    const ranges: TransformRanges = { rotation: 5, scale: [0.85, 1], brightness: 0.05, contrast: 0.05, blur: 0.5, noise: 0.02, printScan: false };
    const state = await trainPatch(
      gradientOracle(textModel),
      { data: lines.x, shape: [lines.n, 1, 32, 96] },
      lines.y,
      set,
      ranges,
      { target: null, seed: 0 },
      { steps: 60, learningRate: 0.05 },
    );
    const x = { data: held.x, shape: [held.n, 1, 32, 96] };
    const run = { target: null, seed: 5, bounds };
    const trained = await measurePatch(textModel, x, held.y, set, state.patch, ranges, run);
    const start = await measurePatch(textModel, x, held.y, set, initialPatch(set, 0, bounds).patch, ranges, run);
    assert.ok(trained.eligible >= 140, `${trained.eligible} of 150 held-out lines read right`);
    assert.ok(trained.rate >= start.rate + 0.15, `class changed on ${trained.rate} of lines with the trained patch, ${start.rate} with its random start`);
  } finally {
    await textModel.dispose();
  }
});

test('a patch ≤ 5% of a digit line changes what the CTC recogniser reads on held-out lines, more often than its random start', async () => {
  const fixture = ctcPatchLines();
  const recogniser = await SequenceOnnxModel.load(CRNN_PATH, { blank: fixture.blank, charset: fixture.charset, threads: 2 });
  try {
    const set = ctcPatchSet();
    assert.ok(set.fraction <= 0.05);
    const ranges = CTC_PATCH_RANGES;
    const patch = await trainCtcPatch(recogniser, fixture, set, 40);
    const truth = fixture.heldOutTexts.slice(0, 60).map((t) => recogniser.encode(t));
    const x = { data: fixture.heldOut.data.subarray(0, 60 * 32 * 128), shape: [60, 1, 32, 128] };
    const run = { seed: 5, bounds };
    const trained = await measureSequencePatch(recogniser, x, truth, set, patch, ranges, run);
    const start = await measureSequencePatch(recogniser, x, truth, set, initialPatch(set, 0, bounds).patch, ranges, run);
    assert.ok(trained.eligible >= 55, `${trained.eligible} of 60 held-out lines read right`);
    assert.ok(trained.rate >= start.rate + 0.25, `string changed on ${trained.rate} of lines with the trained patch, ${start.rate} with its random start`);
  } finally {
    await recogniser.dispose();
  }
});
