import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { Rng } from '../random.js';
import { applySparse, applySparseAdjoint, gaussianBlurMap, jpegOp, resampleOp } from './image-ops.js';
import { createPatchSet } from './patch-set.js';
import { composeBatch, patchGradient } from './patch-scene.js';
import { checkPlacementRanges, drawPlacement, placementGrid, warpFor } from './placement.js';
import { drawPrintScan, type TransformRanges } from './transforms.js';
import { nonPrintability, totalVariation, defaultPalette } from './penalties.js';

const image = { channels: 1, height: 28, width: 28 };
const bounds = { lower: 0, upper: 1 };
// Blur and noise on, clamping off (a clamp is straight-through, so finite differences would disagree where it binds).
const ranges: TransformRanges = { rotation: 20, scale: [0.8, 1.2], brightness: 0.1, contrast: 0.1, blur: 0.8, noise: 0, printScan: false };

test('patch gradient: the warp adjoint and the VJPs give the finite-difference gradient of a linear loss', () => {
  const rng = new Rng(3);
  const set = createPatchSet(image, { size: 7, shape: 'circle' });
  const n = 4;
  const x = { data: rng.fillUniform(new Float32Array(n * 784), 0.3, 0.6), shape: [n, 1, 28, 28] };
  const w = rng.fillUniform(new Float32Array(n * 784), -1, 1);
  const patch = rng.fillUniform(new Float32Array(49), 0.3, 0.6);
  const loss = (p: Float32Array): number => {
    const c = composeBatch(set, x, p, ranges, new Rng(9), bounds).x.data;
    return c.reduce((s, v, i) => s + v * w[i]!, 0) / n;
  };
  const { scenes } = composeBatch(set, x, patch, ranges, new Rng(9), bounds);
  const g = patchGradient(set, scenes, { data: w, shape: x.shape });
  let checked = 0;
  for (let j = 0; j < 49; j++) {
    if (set.mask[j] === 0) continue;
    const h = 1e-2;
    const up = Float32Array.from(patch);
    const down = Float32Array.from(patch);
    up[j] = up[j]! + h;
    down[j] = down[j]! - h;
    const fd = (loss(up) - loss(down)) / (2 * h);
    assert.ok(Math.abs(fd - g[j]!) < 1e-3 + 1e-2 * Math.abs(fd), `pixel ${j}: finite difference ${fd}, adjoint ${g[j]}`);
    checked++;
  }
  assert.ok(checked > 30);
  assert.ok(
    g.some((v) => Math.abs(v) > 1e-3),
    'the gradient is not zero',
  );
});

test('the sparse adjoint is the transpose: ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ for blur, resampling and a rotated placement', () => {
  const rng = new Rng(5);
  const set = createPatchSet(image, { size: 9 });
  const warp = warpFor(set, drawPlacement(set, ranges, rng)).map;
  for (const [name, forward, adjoint, inputs, outputs] of [
    [
      'blur',
      (v: Float32Array) => applySparse(gaussianBlurMap(image, 1.3), v),
      (v: Float32Array) => applySparseAdjoint(gaussianBlurMap(image, 1.3), v),
      784,
      784,
    ],
    ['resample', (v: Float32Array) => resampleOp(image, 0.6).forward(v), (v: Float32Array) => resampleOp(image, 0.6).backward(v), 784, 784],
    ['warp', (v: Float32Array) => applySparse(warp, v), (v: Float32Array) => applySparseAdjoint(warp, v), 81, 784],
  ] as const) {
    const a = rng.fillUniform(new Float32Array(inputs), -1, 1);
    const b = rng.fillUniform(new Float32Array(outputs), -1, 1);
    const left = forward(a).reduce((s, v, i) => s + v * b[i]!, 0);
    const right = adjoint(b).reduce((s, v, i) => s + v * a[i]!, 0);
    assert.ok(Math.abs(left - right) < 1e-3 * Math.max(1, Math.abs(left)), `${name}: ${left} vs ${right}`);
  }
});

test('an upright placement at scale 1 on pixel centres pastes the patch exactly; coverage equals the area', () => {
  const set = createPatchSet(image, { size: 6 });
  const warp = warpFor(set, { x: 10, y: 12, angle: 0, scale: 1 });
  const patch = Float32Array.from({ length: 36 }, (_, i) => i / 36);
  const pasted = applySparse(warp.map, patch);
  assert.equal(pasted[9 * 28 + 7], patch[0]);
  assert.equal(pasted[14 * 28 + 12], patch[35]);
  assert.equal(Math.round(warp.coverage.reduce((a, b) => a + b, 0)), 36);
});

test('JPEG-like quantisation changes the image a little, and quality 100 keeps it within 1/255', () => {
  const rng = new Rng(2);
  const x = rng.fillUniform(new Float32Array(784), 0, 1);
  const low = jpegOp(image, 30).forward(x);
  const high = jpegOp(image, 100).forward(x);
  const err = (y: Float32Array): number => y.reduce((m, v, i) => Math.max(m, Math.abs(v - x[i]!)), 0);
  assert.ok(err(high) < 2 / 255, `q100 error ${err(high)}`);
  assert.ok(err(low) > 0.05, `q30 error ${err(low)}`);
  const ps = drawPrintScan(image, rng).forward(x);
  assert.ok(ps.every((v) => v >= -0.05 && v <= 1.05));
});

test('bad patch sizes and regions fail naming the problem', () => {
  assert.throws(
    () => createPatchSet(image, { size: 29 }),
    (e: unknown) => e instanceof GibbonError && /larger than the 28×28 image/.test(e.message) && e.location.option === 'size',
  );
  assert.throws(() => createPatchSet(image, { size: { fraction: 1.5 } }), /fraction must be in \(0, 1\)/);
  assert.throws(
    () => createPatchSet(image, { size: 5, region: new Uint8Array(784) }),
    (e: unknown) => e instanceof GibbonError && /is empty/.test(e.message),
  );
  assert.throws(() => createPatchSet(image, { size: 5, region: new Uint8Array(10).fill(1) }), /has 10 values; the image has 28×28/);
  const big = createPatchSet(image, { size: 24 });
  assert.throws(() => checkPlacementRanges(big, { rotation: 20, scale: [0.8, 1.2] }), /more than the 28×28 image/);
  assert.equal(createPatchSet(image, { size: { fraction: 0.1 } }).patch.height, 8);
  assert.ok(createPatchSet(image, { size: { fraction: 0.1 }, shape: 'circle' }).fraction <= 0.1);
});

test('a region mask confines the patch centre', () => {
  const region = new Uint8Array(784);
  region[20 * 28 + 20] = 1;
  const set = createPatchSet(image, { size: 5, region });
  const p = drawPlacement(set, ranges, new Rng(1));
  assert.deepEqual([p.x, p.y], [20.5, 20.5]);
});

test('TV and NPS gradients match finite differences', () => {
  const rng = new Rng(4);
  const shape = { channels: 1, height: 5, width: 5 };
  const mask = new Float32Array(25).fill(1);
  const p = rng.fillUniform(new Float32Array(25), 0, 1);
  const palette = defaultPalette(1);
  for (const [name, f] of [
    ['tv', (q: Float32Array) => totalVariation(q, shape, mask)],
    ['nps', (q: Float32Array) => nonPrintability(q, shape, mask, palette)],
  ] as const) {
    const g = f(p).grad;
    for (let j = 0; j < 25; j += 3) {
      const h = 1e-4;
      const up = Float32Array.from(p);
      const down = Float32Array.from(p);
      up[j] = up[j]! + h;
      down[j] = down[j]! - h;
      const fd = (f(up).value - f(down).value) / (2 * h);
      assert.ok(Math.abs(fd - g[j]!) < 2e-2, `${name} pixel ${j}: ${fd} vs ${g[j]}`);
    }
  }
});

test('best placement: the grid of centres spans the image, and a patch at any of them stays inside at the largest scale and rotation', () => {
  const set = createPatchSet({ channels: 1, height: 32, width: 96 }, { size: 12 });
  const wide: TransformRanges = { ...ranges, rotation: 5, scale: [0.85, 1] };
  const grid = placementGrid(set, wide, 2, 7);
  assert.equal(grid.length, 14);
  const xs = [...new Set(grid.map((c) => c.x))];
  assert.equal(xs.length, 7);
  assert.ok(xs[0]! < 10 && xs.at(-1)! > 86, `centres from ${xs[0]} to ${xs.at(-1)}`);
  const rng = new Rng(1);
  for (const centre of grid) {
    const { x, scenes } = composeBatch(
      set,
      { data: new Float32Array(32 * 96), shape: [1, 1, 32, 96] },
      new Float32Array(144).fill(1),
      { ...wide, rotation: 5, scale: [1, 1] },
      rng,
      bounds,
      centre,
    );
    assert.equal(scenes[0]!.placement.x, centre.x);
    // The whole patch lands in the image: its mass (144 pixels at scale 1) is all there.
    const mass = scenes[0]!.warp.coverage.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(mass - 144) < 2, `coverage ${mass} at ${centre.x}, ${centre.y}`);
    assert.ok(x.data.some((v) => v > 0.5));
  }
});
