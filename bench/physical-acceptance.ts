/**
 * `npm run physical-acceptance [-- --part uap,patch,text --threads 2 --out FILE.json]`
 *
 * The acceptance measurements of issue 18, through the library (what `gibbon uap` and `gibbon
 * patch` run):
 * - uap: SGD UAPs (Shafahi et al. 2020) on the first 2000 MNIST training images at L∞ ε = 0.1, 0.2,
 *   0.3 against models/mnist-standard.onnx; the fooling rate of each on the first 1000 test images,
 *   on mnist-standard and (the same δ) on mnist-robust, and after a simulated print-and-scan.
 * - patch: targeted patches (class 3) trained with EOT (±20°, 0.8–1.2×, brightness/contrast 0.1,
 *   blur σ ≤ 0.5, noise 0.02) on 2000 training images at several sizes; targeted success on 1000
 *   held-out test images with new placements, rotations and scales (a seed stream training never
 *   used), with print-and-scan, and for the saved-and-reloaded patch.
 * - text: an untargeted patch ≤ 5% of a 32×96 rendered text line against the fixture classifier
 *   (test/fixtures/physical, made by tools/physical/make_text_lines.py): the fraction of held-out
 *   lines, correctly classified before, whose class it changes (placements ±5°, 0.85–1× unseen).
 *   Also under best placement (the attacker picks the centre per line from a 1×5 or 2×7 grid).
 * - targets: one 8×8 patch per target class, measured together (per-target table and chart;
 *   --targets-dir DIR keeps the patches and writes the report there).
 * - ctc: an untargeted patch ≤ 5% of a 32×128 digit line against the CTC recogniser of
 *   test/fixtures/ctc (lines: tools/physical/make_ctc_patch_lines.py): the fraction of held-out
 *   lines read right whose string it changes, beside a noise and a blank sticker of the same size.
 * Prints one line per measurement; --out also writes them as JSON.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initialPatch, trainPatch } from '../src/attacks/patch.js';
import { measureSequencePatch } from '../src/attacks/patch-sequence.js';
import { SequenceOnnxModel } from '../src/model/sequence-model.js';
import { CTC_PATCH_RANGES, ctcPatchLines, ctcPatchSet, trainCtcPatch } from '../test/helpers/ctc-patch-lines.js';
import { measurePatch } from '../src/attacks/patch-measure.js';
import { foolingAfterPrintScan, foolingRate, trainUap } from '../src/attacks/uap.js';
import { loadLabelledData, type LabelledData } from '../src/data/datasets.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { gradientOracle } from '../src/model/oracles.js';
import { linf } from '../src/norms/linf.js';
import { createPatchSet } from '../src/physical/patch-set.js';
import { placementGrid } from '../src/physical/placement.js';
import { evaluatePatches } from '../src/evaluation/physical-runner.js';
import { writePhysicalReport } from '../src/cli/physical-report.js';
import { loadPerturbation, savePerturbation } from '../src/physical/saved-perturbation.js';
import type { TransformRanges } from '../src/physical/transforms.js';
import { createUniversalSet } from '../src/physical/universal-set.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    part: { type: 'string', default: 'uap,patch,text' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string' },
    'targets-dir': { type: 'string' },
  },
});
const parts = new Set(args.part!.split(','));
const threads = Number(args.threads);
const results: Record<string, unknown>[] = [];
const bounds = { lower: 0, upper: 1 };
const tensorOf = (d: LabelledData) => ({ data: d.x, shape: [d.n, ...d.shape] });
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

function record(r: Record<string, unknown>, line: string): void {
  results.push(r);
  process.stdout.write(`${line}\n`);
}

const standard = await OnnxModel.load(join(ROOT, 'models', 'mnist-standard.onnx'), { threads });
const robust = await OnnxModel.load(join(ROOT, 'models', 'mnist-robust.onnx'), { threads });
const train = tensorOf(loadLabelledData({ name: 'mnist', split: 'train', limit: 2000 }));
const trainLabels = loadLabelledData({ name: 'mnist', split: 'train', limit: 2000 }).y;
const heldData = loadLabelledData({ name: 'mnist', split: 'test', limit: 1000 });
const held = tensorOf(heldData);
const scratch = mkdtempSync(join(tmpdir(), 'gibbon-physical-acceptance-'));

try {
  if (parts.has('uap')) {
    for (const eps of [0.1, 0.2, 0.3]) {
      const set = createUniversalSet(linf, eps, [1, 28, 28], bounds);
      const started = performance.now();
      const s = await trainUap(gradientOracle(standard), set, train, { seed: 0 }, { epochs: 8 });
      const seconds = (performance.now() - started) / 1000;
      const a = await foolingRate(standard, set, held, s.delta);
      const b = await foolingRate(robust, set, held, s.delta);
      const ps = await foolingAfterPrintScan(standard, set, held, s.delta, 0);
      record(
        { part: 'uap', eps, standard: a.rate, robust: b.rate, printScan: ps.rate, train: s.trainFooling, seconds },
        `uap ε=${eps}: fooling on 1000 held-out — mnist-standard ${pct(a.rate)}, mnist-robust ${pct(b.rate)}, standard after print-and-scan ${pct(ps.rate)} (train ${pct(s.trainFooling)}, ${seconds.toFixed(0)} s under load)`,
      );
    }
  }

  if (parts.has('patch')) {
    const ranges: TransformRanges = { rotation: 20, scale: [0.8, 1.2], brightness: 0.1, contrast: 0.1, blur: 0.5, noise: 0.02, printScan: false };
    for (const side of [6, 8, 10, 12]) {
      const set = createPatchSet({ channels: 1, height: 28, width: 28 }, { size: side });
      const started = performance.now();
      const s = await trainPatch(
        gradientOracle(standard),
        train,
        trainLabels,
        set,
        ranges,
        { target: 3, seed: 0 },
        { steps: side === 8 ? 1000 : 500, batchSize: 32 },
      );
      const seconds = (performance.now() - started) / 1000;
      const run = { target: 3, seed: 12345, bounds };
      const m = await measurePatch(standard, held, heldData.y, set, s.patch, ranges, run);
      const ps = await measurePatch(standard, held, heldData.y, set, s.patch, { ...ranges, printScan: true }, run);
      const t = await measurePatch(robust, held, heldData.y, set, s.patch, ranges, run);
      const path = savePerturbation(join(scratch, `patch-${side}`), {
        kind: 'patch',
        inputShape: [1, 28, 28],
        valuesShape: [1, side, side],
        values: s.patch,
        alpha: set.mask,
        patch: { shape: set.shape, side, area: set.area, fraction: set.fraction },
        target: 3,
        transforms: ranges,
        dpi: 300,
        mm: 50,
        training: {},
      });
      const back = loadPerturbation(path, 'patch');
      const again = await measurePatch(standard, held, heldData.y, set, back.values, back.manifest.transforms, run);
      record(
        {
          part: 'patch',
          side,
          fraction: set.fraction,
          coverage: m.meanCoverage,
          targeted: m.rate,
          printScan: ps.rate,
          robust: t.rate,
          reloaded: again.rate,
          seconds,
        },
        `patch ${side}×${side} (${pct(set.fraction)} at scale 1, ${pct(m.meanCoverage)} as placed) → 3: targeted success on held-out ${pct(m.rate)} (${m.successes}/${m.eligible}), print-and-scan ${pct(ps.rate)}, on mnist-robust ${pct(t.rate)}, reloaded ${pct(again.rate)} (${seconds.toFixed(0)} s under load)`,
      );
    }
    const side = 8;
    const set = createPatchSet({ channels: 1, height: 28, width: 28 }, { size: side });
    const s = await trainPatch(gradientOracle(standard), train, trainLabels, set, ranges, { target: null, seed: 0 }, { steps: 500, batchSize: 32 });
    const m = await measurePatch(standard, held, heldData.y, set, s.patch, ranges, { target: null, seed: 12345, bounds });
    record(
      { part: 'patch-untargeted', side, untargeted: m.rate },
      `patch ${side}×${side} untargeted: success on held-out ${pct(m.rate)} (${m.successes}/${m.eligible})`,
    );
  }

  if (parts.has('targets')) {
    // One 8×8 patch per target class (the patch part's transforms), measured together by gibbon eval's runner: the per-target table and chart.
    const ranges: TransformRanges = { rotation: 20, scale: [0.8, 1.2], brightness: 0.1, contrast: 0.1, blur: 0.5, noise: 0.02, printScan: false };
    const set = createPatchSet({ channels: 1, height: 28, width: 28 }, { size: 8 });
    const saved = [];
    for (let target = 0; target < 10; target++) {
      const s = await trainPatch(gradientOracle(standard), train, trainLabels, set, ranges, { target, seed: 0 }, { steps: 500, batchSize: 32 });
      const path = savePerturbation(join(args['targets-dir'] ?? scratch, `target-${target}`, 'patch'), {
        kind: 'patch',
        inputShape: [1, 28, 28],
        valuesShape: [1, 8, 8],
        values: s.patch,
        alpha: set.mask,
        patch: { shape: set.shape, side: 8, area: set.area, fraction: set.fraction },
        target,
        transforms: ranges,
        dpi: 300,
        mm: 50,
        training: { steps: 500, seed: 0, n: 2000 },
      });
      saved.push(loadPerturbation(path, 'patch'));
    }
    const report = await evaluatePatches({
      models: [
        { name: 'mnist-standard.onnx', model: standard },
        { name: 'mnist-robust.onnx', model: robust },
      ],
      data: heldData,
      patches: saved,
      ranges: () => ranges,
      printScan: false,
      seed: 12345,
      gibbonVersion: 'acceptance',
    });
    if (args['targets-dir']) writePhysicalReport(args['targets-dir'], report);
    for (const t of report.perTarget ?? [])
      record(
        { part: 'targets', target: t.target, rate: t.rate },
        `patch 8×8 → ${t.target}: targeted success on held-out ${pct(t.rate)} (${t.successes}/${t.eligible})`,
      );
  }

  if (parts.has('ctc')) {
    // A sticker ≤ 5% of a 32×128 digit line against the CTC recogniser (test/fixtures/ctc): the string it reads changes.
    const fixture = ctcPatchLines();
    const recogniser = await SequenceOnnxModel.load(join(ROOT, 'test', 'fixtures', 'ctc', 'crnn_digits.onnx'), {
      blank: fixture.blank,
      charset: fixture.charset,
      threads,
    });
    try {
      const set = ctcPatchSet();
      const ranges = CTC_PATCH_RANGES;
      const started = performance.now();
      const trained = await trainCtcPatch(recogniser, fixture, set, 300);
      const seconds = (performance.now() - started) / 1000;
      const truth = fixture.heldOutTexts.map((t) => recogniser.encode(t));
      const run = { seed: 12345, bounds };
      for (const [name, patch] of [
        ['trained patch', trained],
        ['its random start (noise)', initialPatch(set, 0, bounds).patch],
        ['a blank white sticker', new Float32Array(trained.length).fill(1)],
      ] as const) {
        const random = await measureSequencePatch(recogniser, fixture.heldOut, truth, set, patch, ranges, run);
        const printed = await measureSequencePatch(recogniser, fixture.heldOut, truth, set, patch, { ...ranges, printScan: true }, run);
        const best = await measureSequencePatch(recogniser, fixture.heldOut, truth, set, patch, ranges, { ...run, centres: placementGrid(set, ranges, 1, 5) });
        record(
          { part: 'ctc', patch: name, random: random.rate, printScan: printed.rate, best: best.rate, eligible: random.eligible, seconds },
          `ctc line, ${set.patch.height}×${set.patch.width} (${pct(set.fraction)}) ${name}: string changed on ${pct(random.rate)} of ${random.eligible} held-out lines read right (random placement), ${pct(printed.rate)} after print-and-scan, ${pct(best.rate)} at the best of 1×5 centres (${seconds.toFixed(0)} s training under load)`,
        );
      }
    } finally {
      await recogniser.dispose();
    }
  }

  if (parts.has('text')) {
    const dir = join(ROOT, 'test', 'fixtures', 'physical');
    const lines = loadLabelledData({ x: join(dir, 'lines_train.npy'), y: join(dir, 'labels_train.npy') });
    const heldLines = loadLabelledData({ x: join(dir, 'lines_heldout.npy'), y: join(dir, 'labels_heldout.npy') });
    const model = await OnnxModel.load(join(dir, 'text_line_classifier.onnx'), { threads });
    try {
      const image = { channels: 1, height: 32, width: 96 };
      const set = createPatchSet(image, { size: { fraction: 0.05 } });
      const ranges: TransformRanges = { rotation: 5, scale: [0.85, 1], brightness: 0.05, contrast: 0.05, blur: 0.5, noise: 0.02, printScan: false };
      const s = await trainPatch(
        gradientOracle(model),
        tensorOf(lines),
        lines.y,
        set,
        ranges,
        { target: null, seed: 0 },
        { steps: 1500, batchSize: 32, learningRate: 0.05 },
      );
      const run = { target: null, seed: 12345, bounds };
      const m = await measurePatch(model, tensorOf(heldLines), heldLines.y, set, s.patch, ranges, run);
      const worst = await measurePatch(model, tensorOf(heldLines), heldLines.y, set, s.patch, { ...ranges, scale: [1, 1] }, run);
      const ps = await measurePatch(model, tensorOf(heldLines), heldLines.y, set, s.patch, { ...ranges, printScan: true }, run);
      // Best placement (the attacker sticks the patch where it works): a grid of centres per line, the rest of the scene still drawn.
      for (const [r, c] of [
        [1, 5],
        [2, 7],
      ] as const) {
        const centres = placementGrid(set, ranges, r, c);
        const best = await measurePatch(model, tensorOf(heldLines), heldLines.y, set, s.patch, ranges, { ...run, centres });
        const bestPs = await measurePatch(model, tensorOf(heldLines), heldLines.y, set, s.patch, { ...ranges, printScan: true }, { ...run, centres });
        record(
          { part: 'text-best', grid: [r, c], changed: best.rate, printScan: bestPs.rate },
          `text line, best of a ${r}×${c} grid of centres: changes ${pct(best.rate)} (${best.successes}/${best.eligible}); after print-and-scan ${pct(bestPs.rate)}`,
        );
      }
      record(
        {
          part: 'text',
          side: set.patch.height,
          fraction: set.fraction,
          coverage: m.meanCoverage,
          coverageAtMaxScale: worst.meanCoverage,
          changed: m.rate,
          printScan: ps.rate,
        },
        `text line: ${set.patch.height}×${set.patch.width} patch (${pct(set.fraction)} of the 32×96 line at scale 1, ${pct(worst.meanCoverage)} at its largest scale 1×) changes the class of ${pct(m.rate)} of held-out lines (${m.successes}/${m.eligible}); after print-and-scan ${pct(ps.rate)}`,
      );
    } finally {
      await model.dispose();
    }
  }
} finally {
  await standard.dispose();
  await robust.dispose();
  rmSync(scratch, { recursive: true, force: true });
}
if (args.out) writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
