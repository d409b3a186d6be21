/**
 * `npm run physical-study [-- --part upper,lr,targets,shape,text --threads 1 --out FILE.json]`
 *
 * Where the cap of universal patches comes from (issue 18, second round): the model or the
 * optimiser. Hand-run experiments through the library, each printing one line:
 * - upper: a per-image patch (one patch optimised for each held-out image, under the same
 *   transform distribution) — the upper bound of a universal patch of that size — against the
 *   universal patch measured on the same images.
 * - bound: the strongest per-image bound (one patch per image, upright, at the best of a 3 × 3
 *   grid of centres) for targets 3 and 8 and untargeted.
 * - lr: the universal patch's Adam step size and number of steps.
 * - targets: one universal patch per target class.
 * - shape: square against circle at the same ≤ 10% area.
 * (The text line under random and best placement is `npm run physical-acceptance -- --part text`.)
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { trainPatch } from '../src/attacks/patch.js';
import { measurePatch } from '../src/attacks/patch-measure.js';
import { loadLabelledData, type LabelledData } from '../src/data/datasets.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { gradientOracle } from '../src/model/oracles.js';
import { createPatchSet, type PatchSize } from '../src/physical/patch-set.js';
import { IDENTITY_RANGES, type TransformRanges } from '../src/physical/transforms.js';
import type { Tensor } from '../src/tensor/tensor.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    part: { type: 'string', default: 'upper,lr,targets,shape' },
    threads: { type: 'string', default: '1' },
    out: { type: 'string' },
    steps: { type: 'string', default: '500' },
  },
});
const parts = new Set(args.part!.split(','));
const threads = Number(args.threads);
const steps = Number(args.steps);
const results: Record<string, unknown>[] = [];
const bounds = { lower: 0, upper: 1 };
const tensorOf = (d: LabelledData): Tensor => ({ data: d.x, shape: [d.n, ...d.shape] });
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const image = { channels: 1, height: 28, width: 28 };
const EOT: TransformRanges = { rotation: 20, scale: [0.8, 1.2], brightness: 0.1, contrast: 0.1, blur: 0.5, noise: 0.02, printScan: false };

function record(r: Record<string, unknown>, line: string): void {
  results.push(r);
  process.stdout.write(`${line}\n`);
  if (args.out) writeFileSync(args.out, JSON.stringify(results, null, 2));
}

function rows(d: LabelledData, pick: (i: number) => boolean, limit: number): LabelledData {
  const row = d.shape.reduce((a, b) => a * b, 1);
  const keep = [...d.y.keys()].filter(pick).slice(0, limit);
  const x = new Float32Array(keep.length * row);
  keep.forEach((k, i) => x.set(d.x.subarray(k * row, (k + 1) * row), i * row));
  return { ...d, x, y: Int32Array.from(keep, (k) => d.y[k]!), n: keep.length };
}

function tile(d: LabelledData, i: number, times: number): { x: Tensor; y: Int32Array } {
  const row = d.shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(times * row);
  for (let t = 0; t < times; t++) x.set(d.x.subarray(i * row, (i + 1) * row), t * row);
  return { x: { data: x, shape: [times, ...d.shape] }, y: new Int32Array(times).fill(d.y[i]!) };
}

const standard = await OnnxModel.load(join(ROOT, 'models', 'mnist-standard.onnx'), { threads });
const trainData = loadLabelledData({ name: 'mnist', split: 'train', limit: 2000 });
const heldData = loadLabelledData({ name: 'mnist', split: 'test', limit: 1000 });

async function universal(
  target: number | null,
  size: PatchSize,
  shape: 'square' | 'circle',
  o: { lr?: number; steps?: number; batch?: number; ranges?: TransformRanges },
) {
  const set = createPatchSet(image, { size, shape });
  const ranges = o.ranges ?? EOT;
  const started = performance.now();
  const s = await trainPatch(
    gradientOracle(standard),
    tensorOf(trainData),
    trainData.y,
    set,
    ranges,
    { target, seed: 0 },
    {
      steps: o.steps ?? steps,
      batchSize: o.batch ?? 32,
      learningRate: o.lr ?? 0.03,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const m = await measurePatch(standard, tensorOf(heldData), heldData.y, set, s.patch, ranges, { target, seed: 12345, bounds });
  return { set, patch: s.patch, m, seconds };
}

if (parts.has('upper')) {
  // Per-image patches for 30 held-out images not of class 3, under the same EOT as the universal one.
  const target = 3;
  const subjects = rows(heldData, (i) => heldData.y[i] !== target, 30);
  for (const side of [8]) {
    const set = createPatchSet(image, { size: side });
    for (const [name, ranges] of [
      ['EOT ±20°, 0.8–1.2×', EOT],
      ['upright, scale 1', IDENTITY_RANGES],
    ] as const) {
      let hits = 0;
      let total = 0;
      const started = performance.now();
      for (let i = 0; i < subjects.n; i++) {
        const one = tile(subjects, i, 16);
        const s = await trainPatch(gradientOracle(standard), one.x, one.y, set, ranges, { target, seed: i }, { steps: 150, batchSize: 16, learningRate: 0.05 });
        const probe = tile(subjects, i, 64);
        const m = await measurePatch(standard, probe.x, probe.y, set, s.patch, ranges, { target, seed: 777 + i, bounds, keep: 0 });
        hits += m.successes;
        total += m.eligible;
      }
      const seconds = (performance.now() - started) / 1000;
      const u = await universal(target, side, 'square', { ranges });
      const uOn = await measurePatch(standard, tensorOf(subjects), subjects.y, set, u.patch, ranges, { target, seed: 12345, bounds });
      record(
        { part: 'upper', side, ranges: name, perImage: hits / total, universalSame: uOn.rate, universalHeld: u.m.rate },
        `upper ${side}×${side} ${name}: per-image patch ${pct(hits / total)} of 64 placements × ${subjects.n} images (${seconds.toFixed(0)} s); universal patch on the same images ${pct(uOn.rate)}, on 1000 held-out ${pct(u.m.rate)}`,
      );
    }
  }
}

if (parts.has('bound')) {
  // The strongest per-image bound: a patch optimised for one upright image at each centre of a 3 × 3 grid (the region mask pins it), success if any works.
  for (const target of [3, 8, null]) {
    const subjects = rows(heldData, (i) => heldData.y[i] !== target, 37);
    let hits = 0;
    for (let i = 0; i < subjects.n; i++) {
      const one = tile(subjects, i, 2);
      let ok = false;
      for (const cy of [7, 14, 21])
        for (const cx of [7, 14, 21]) {
          if (ok) continue;
          const region = new Uint8Array(784);
          region[cy * 28 + cx] = 1;
          const set = createPatchSet(image, { size: 8, region });
          const s = await trainPatch(
            gradientOracle(standard),
            one.x,
            one.y,
            set,
            IDENTITY_RANGES,
            { target, seed: i },
            { steps: 100, batchSize: 2, learningRate: 0.05 },
          );
          const probe = tile(subjects, i, 1);
          ok = (await measurePatch(standard, probe.x, probe.y, set, s.patch, IDENTITY_RANGES, { target, seed: 1, bounds, keep: 0 })).successes > 0;
        }
      if (ok) hits++;
    }
    record(
      { part: 'bound', target, images: subjects.n, success: hits / subjects.n },
      `per-image 8×8 patch, best of 3×3 centres, upright, → ${target ?? 'untargeted'}: ${hits}/${subjects.n} = ${pct(hits / subjects.n)}`,
    );
  }
}

if (parts.has('lr')) {
  for (const [lr, n, batch] of [
    [0.01, steps, 32],
    [0.1, steps, 32],
    [0.3, steps, 32],
    [0.03, 4 * steps, 64],
  ] as const) {
    const u = await universal(3, 8, 'square', { lr, steps: n, batch });
    record(
      { part: 'lr', lr, steps: n, batch, rate: u.m.rate, seconds: u.seconds },
      `lr ${lr}, ${n} steps, batch ${batch}: 8×8 → 3 held-out ${pct(u.m.rate)} (${u.seconds.toFixed(0)} s)`,
    );
  }
}

if (parts.has('targets')) {
  for (let target = 0; target < 10; target++) {
    const u = await universal(target, 8, 'square', {});
    record({ part: 'targets', target, rate: u.m.rate, seconds: u.seconds }, `target ${target}: 8×8 held-out ${pct(u.m.rate)} (${u.seconds.toFixed(0)} s)`);
  }
}

if (parts.has('shape')) {
  for (const shape of ['square', 'circle'] as const) {
    const u = await universal(3, { fraction: 0.1 }, shape, {});
    record(
      { part: 'shape', shape, side: u.set.patch.height, fraction: u.set.fraction, rate: u.m.rate },
      `${shape} ${u.set.patch.height} px (${pct(u.set.fraction)} at scale 1, ${pct(u.m.meanCoverage)} placed): → 3 held-out ${pct(u.m.rate)}`,
    );
  }
}
await standard.dispose();
