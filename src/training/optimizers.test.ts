import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_DIR, referenceInputs, referenceModelPath } from '../attacks/testing/reference-data.js';
import { GibbonError } from '../errors.js';
import { OnnxModel } from '../model/onnx-model.js';
import { loadModel } from '../onnx/model.js';
import { decodeTensor } from '../onnx/tensor-proto.js';
import { readNpy } from '../tensor/npy.js';
import { clipGradNorm, createOptimizer, type OptimizerSpec } from './optimizers.js';

/** test/fixtures/optimizer, made by tools/make_optimizer_reference.py with torch 1.13. */
const FIXTURES = join(REFERENCE_DIR, '..', 'optimizer');

interface OptimizerCase {
  name: string;
  spec: OptimizerSpec;
  lrs: number[];
  noGradForB: number[];
}

const f32npy = (file: string): Float32Array => readNpy(join(FIXTURES, file)).data as Float32Array;

test('SGD, Adam and AdamW match torch.optim step by step (params to ≤ 1e-6 relative)', (t) => {
  const ref = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8')) as { steps: number; optimizers: OptimizerCase[] };
  const w0 = f32npy('params0.w.npy');
  const b0 = f32npy('params0.b.npy');
  const gw = f32npy('grads.w.npy');
  const gb = f32npy('grads.b.npy');
  assert.equal(ref.optimizers.length, 8);
  let worstOverall = 0;
  for (const c of ref.optimizers) {
    const expectW = f32npy(`${c.name}.w.npy`);
    const expectB = f32npy(`${c.name}.b.npy`);
    const params = new Map([
      ['w', w0.slice()],
      ['b', b0.slice()],
    ]);
    const opt = createOptimizer(c.spec);
    const largest = new Map([
      ['w', Float64Array.from(w0, Math.abs)],
      ['b', Float64Array.from(b0, Math.abs)],
    ]);
    let worst = 0;
    for (let k = 0; k < ref.steps; k++) {
      const grads = new Map([['w', gw.slice(k * w0.length, (k + 1) * w0.length)]]);
      if (!c.noGradForB.includes(k)) grads.set('b', gb.slice(k * b0.length, (k + 1) * b0.length));
      opt.step(params, grads, c.lrs[k]!);
      for (const [name, expected] of [
        ['w', expectW.subarray(k * w0.length, (k + 1) * w0.length)],
        ['b', expectB.subarray(k * b0.length, (k + 1) * b0.length)],
      ] as const) {
        const got = params.get(name)!;
        const seen = largest.get(name)!;
        for (let i = 0; i < got.length; i++) {
          // Relative to the largest |value| this entry has had so far (floor 1e-3): an update that
          // cancels most of a parameter (0.0124 → 7e-5 in one AdamW step here) cannot be more exact
          // than its operands, and the rounding error it leaves is carried into later steps.
          seen[i] = Math.max(seen[i]!, Math.abs(expected[i]!));
          const rel = Math.abs(got[i]! - expected[i]!) / Math.max(seen[i]!, 1e-3);
          worst = Math.max(worst, rel);
          assert.ok(rel <= 1e-6, `${c.name} step ${k + 1} ${name}[${i}]: gibbon ${got[i]} vs torch ${expected[i]} (relative ${rel.toExponential(2)})`);
        }
      }
    }
    t.diagnostic(`${c.name}: max relative deviation from torch over ${ref.steps} steps ${worst.toExponential(2)}`);
    worstOverall = Math.max(worstOverall, worst);
  }
  t.diagnostic(`all cases: max relative deviation ${worstOverall.toExponential(2)}`);
});

test('one step from the mnist_cnn weights matches PyTorch formulas on the reference param_grads (SGD momentum, Adam)', async (t) => {
  const dir = join(REFERENCE_DIR, 'mnist_cnn', 'param_grads');
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.npy'))
    .map((f) => f.slice(0, -4));
  assert.equal(names.length, 8);
  const ir = loadModel(referenceModelPath('mnist_cnn'));
  const initial = new Map(names.map((n) => [n, decodeTensor(ir.graph.initializers.get(n)!).data as Float32Array]));
  const refGrads = new Map(names.map((n) => [n, readNpy(join(dir, `${n}.npy`)).data as Float32Array]));

  const model = await OnnxModel.load(ir, { threads: 2 });
  const { x, y } = referenceInputs(64);
  const out = await model.paramGrads(x, y, 'ce', 'mean').finally(() => model.dispose());
  const grads = new Map(names.map((n) => [n, out.grads.get(n)!.data]));
  // gibbon's mean-CE gradients agree with torch's to ~1e-6 of each tensor's largest entry.
  let gradDev = 0;
  for (const n of names) gradDev = Math.max(gradDev, maxAbsDiff(grads.get(n)!, refGrads.get(n)!) / maxAbs(refGrads.get(n)!));
  t.diagnostic(`gibbon vs reference param grads: max |Δ| / max|g_ref| = ${gradDev.toExponential(2)}`);
  assert.ok(gradDev <= 1e-5, `gradients differ from the reference by ${gradDev}`);

  const stepOnce = (spec: OptimizerSpec, lr: number): Map<string, Float64Array> => {
    const params = new Map(names.map((n) => [n, initial.get(n)!.slice()]));
    createOptimizer(spec).step(params, grads, lr);
    return new Map(names.map((n) => [n, Float64Array.from(params.get(n)!, (p, i) => p - initial.get(n)![i]!)]));
  };

  // SGD, momentum 0.9, lr 0.01, weight decay 5e-4. First step: buf = g + wd·p, p −= lr·buf (in float64).
  // The update is linear in g, so gibbon's ~1e-6-relative gradient error stays ~1e-6 of the largest
  // update; 1e-4·max|update| leaves room for that, and 1e-7 absorbs rounding p + Δ to float32 (|p| ≤ ~0.5).
  const sgd = stepOnce({ type: 'sgd', momentum: 0.9, weightDecay: 5e-4 }, 0.01);
  for (const n of names) {
    const p0 = initial.get(n)!;
    const expected = Float64Array.from(refGrads.get(n)!, (g, i) => -0.01 * (g + 5e-4 * p0[i]!));
    const dev = maxAbsDiff(sgd.get(n)!, expected);
    t.diagnostic(`sgd ${n}: max|Δ − Δ_torch| ${dev.toExponential(2)}, max|Δ_torch| ${maxAbs(expected).toExponential(2)}`);
    assert.ok(dev <= 1e-4 * maxAbs(expected) + 1e-7, `sgd ${n}: update differs by ${dev} (largest update ${maxAbs(expected)})`);
  }

  // Adam, lr 1e-3, t = 1: m̂ = g, v̂ = g², Δ = −lr·g/(|g| + ε), about −lr·sign(g), and exactly 0 where
  // g = 0 (half of fc1.weight: dead units). It is not linear in g: a gradient error δ moves the update
  // by lr·ε·|δ|/(|g| + ε)², and where |g| ≲ |δ| even its sign is uncertain. gibbon's gradient error is
  // |δ| ≤ ~2e-6·max|g| (measured above), so for |g| > 1e-4·max|g| the update error is at most
  // lr·ε·2e-6/(1e-8·max|g|) ≈ 2e-9/max|g| ≈ 2e-7 for max|g| ~ 1e-2: inside the tolerance. So we compare
  // with the reference where g_ref = 0 or |g_ref| > 1e-4·max|g_ref|, and check the skipped entries
  // (~5%, nearly all in fc1.weight) two other ways: Adam's first step never exceeds lr (+ 1e-7 for
  // rounding p + Δ to float32), and the same float64 formula applied to gibbon's own gradients matches
  // everywhere (this tests the optimizer alone, not the gradients).
  const lr = 1e-3;
  const adamStep = (g: number): number => {
    const m = 0.1 * g;
    const v = 0.001 * g * g;
    return (-lr / (1 - 0.9)) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.999) + 1e-8));
  };
  const adam = stepOnce({ type: 'adam' }, lr);
  let compared = 0;
  let skipped = 0;
  let worstRef = 0;
  let worstOwn = 0;
  for (const n of names) {
    const got = adam.get(n)!;
    const ref = refGrads.get(n)!;
    const own = grads.get(n)!;
    const threshold = 1e-4 * maxAbs(ref);
    for (let i = 0; i < got.length; i++) {
      const tolerance = 1e-4 * lr + 1e-7;
      assert.ok(Math.abs(got[i]!) <= lr + 1e-7, `adam ${n}[${i}]: first-step update ${got[i]} exceeds lr`);
      const ownDev = Math.abs(got[i]! - adamStep(own[i]!));
      worstOwn = Math.max(worstOwn, ownDev);
      assert.ok(ownDev <= tolerance, `adam ${n}[${i}]: update ${got[i]} vs formula on gibbon's grad ${adamStep(own[i]!)}`);
      if (ref[i] !== 0 && Math.abs(ref[i]!) <= threshold) {
        skipped++;
        continue;
      }
      compared++;
      const refDev = Math.abs(got[i]! - adamStep(ref[i]!));
      worstRef = Math.max(worstRef, refDev);
      assert.ok(refDev <= tolerance, `adam ${n}[${i}]: update ${got[i]} vs torch formula on the reference grad ${adamStep(ref[i]!)}`);
    }
  }
  t.diagnostic(
    `adam: compared ${compared} entries with the reference (skipped ${skipped} with 0 < |g_ref| ≤ 1e-4·max), max|Δ − Δ_torch| ${worstRef.toExponential(2)}`,
  );
  t.diagnostic(`adam: max|Δ − formula(gibbon grads)| over all entries ${worstOwn.toExponential(2)} (lr ${lr})`);
  assert.ok(skipped < 0.1 * (compared + skipped), `too many entries skipped: ${skipped}`);
});

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('clipGradNorm returns the global L2 norm and scales like torch.nn.utils.clip_grad_norm_', () => {
  const grads = new Map([
    ['a', Float32Array.of(3, 0)],
    ['b', Float32Array.of(0, -4)],
  ]);
  assert.equal(clipGradNorm(grads, 1), 5);
  const c = Math.fround(1 / (5 + 1e-6));
  assert.deepEqual([...grads.get('a')!, ...grads.get('b')!], [Math.fround(3 * c), 0, 0, Math.fround(-4 * c)]);
  const after = Math.hypot(...grads.get('a')!, ...grads.get('b')!);
  assert.ok(Math.abs(after - 1) < 1e-6, `norm after clipping ${after}`);

  const small = new Map([['a', Float32Array.of(0.3, -0.4)]]);
  assert.ok(Math.abs(clipGradNorm(small, 1) - 0.5) < 1e-7);
  assert.deepEqual([...small.get('a')!], [Math.fround(0.3), Math.fround(-0.4)], 'under the max: untouched');
  // Exactly at the max, torch still scales by maxNorm/(norm + 1e-6), a hair below 1.
  const edge = new Map([['a', Float32Array.of(1)]]);
  assert.equal(clipGradNorm(edge, 1), 1);
  assert.equal(edge.get('a')![0], Math.fround(1 / (1 + 1e-6)));

  const nan = new Map([['a', Float32Array.of(1, NaN)]]);
  assert.ok(Number.isNaN(clipGradNorm(nan, 1)));
  assert.equal(nan.get('a')![0], 1, 'non-finite norm: grads left alone');
  assert.equal(clipGradNorm(new Map(), 1), 0);
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(
      () => clipGradNorm(grads, bad),
      (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && /maxNorm/.test(e.message),
    );
  }
});

test('state() and load() round-trip: a restored optimizer continues exactly like the original', () => {
  for (const spec of [{ type: 'sgd', momentum: 0.9, nesterov: true }, { type: 'adam' }, { type: 'adamw', weightDecay: 0.1 }] as OptimizerSpec[]) {
    const grad = (k: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + k) * 0.1);
    const a = new Map([
      ['w', Float32Array.from({ length: 6 }, (_, i) => i / 7 - 0.3)],
      ['b', Float32Array.of(0.1, -0.2)],
    ]);
    const original = createOptimizer(spec);
    original.step(a, new Map([['w', grad(0, 6)]]), 0.01); // b has no grad: its state starts a step later
    original.step(
      a,
      new Map([
        ['w', grad(1, 6)],
        ['b', grad(1, 2)],
      ]),
      0.01,
    );
    const saved = original.state();
    assert.equal(saved.steps, 2);
    const b = new Map([...a].map(([k, v]) => [k, v.slice()]));
    const restored = createOptimizer(saved.spec);
    restored.load(saved);
    // The snapshot is a copy: stepping the original does not change it.
    const before = JSON.stringify(Object.entries(saved.buffers).map(([k, v]) => [k, [...v]]));
    for (let k = 2; k < 5; k++) {
      original.step(
        a,
        new Map([
          ['w', grad(k, 6)],
          ['b', grad(k, 2)],
        ]),
        0.02,
      );
      restored.step(
        b,
        new Map([
          ['w', grad(k, 6)],
          ['b', grad(k, 2)],
        ]),
        0.02,
      );
    }
    assert.equal(JSON.stringify(Object.entries(saved.buffers).map(([k, v]) => [k, [...v]])), before);
    assert.deepEqual(b, a, `${spec.type}: restored run differs`);
    assert.deepEqual(restored.state(), original.state());
    if (spec.type !== 'sgd') {
      assert.deepEqual(Object.keys(saved.buffers).sort(), ['m:b', 'm:w', 'step:b', 'step:w', 'v:b', 'v:w']);
      assert.deepEqual([saved.buffers['step:w']![0], saved.buffers['step:b']![0]], [2, 1]);
    } else assert.deepEqual(Object.keys(saved.buffers).sort(), ['momentum:b', 'momentum:w']);
  }
});

test('load() refuses state from another optimizer or with broken buffers', () => {
  const opt = createOptimizer({ type: 'adam' });
  const params = new Map([['w', Float32Array.of(1, 2)]]);
  opt.step(params, new Map([['w', Float32Array.of(0.1, 0.2)]]), 0.1);
  const saved = opt.state();
  const isCheckpointError = (pattern: RegExp) => (e: unknown) => e instanceof GibbonError && e.code === 'invalid_checkpoint' && pattern.test(e.message);
  assert.throws(() => createOptimizer({ type: 'sgd' }).load(saved), isCheckpointError(/is for 'adam' but this optimizer is 'sgd'/));
  assert.throws(() => createOptimizer({ type: 'adam', beta1: 0.8 }).load(saved), isCheckpointError(/beta1 0.9 but this optimizer has beta1 0.8/));
  assert.throws(() => createOptimizer({ type: 'adam' }).load({ ...saved, steps: -1 }), isCheckpointError(/steps/));
  assert.throws(
    () => createOptimizer({ type: 'adam' }).load({ ...saved, buffers: { ...saved.buffers, 'momentum:w': Float32Array.of(0, 0) } }),
    isCheckpointError(/'momentum:w'/),
  );
  const { 'v:w': _v, ...noV } = saved.buffers;
  assert.throws(() => createOptimizer({ type: 'adam' }).load({ ...saved, buffers: noV }), isCheckpointError(/must come together/));
  // A buffer of the wrong size is caught before anything is updated.
  const other = createOptimizer({ type: 'adam' });
  other.load(saved);
  const p = Float32Array.of(1, 2, 3);
  assert.throws(
    () => other.step(new Map([['w', p]]), new Map([['w', Float32Array.of(1, 1, 1)]]), 0.1),
    isCheckpointError(/'m:w' has 2 values but the parameter has 3/),
  );
  assert.deepEqual([...p], [1, 2, 3]);
});

test('invalid specs and calls throw invalid_option naming the field', () => {
  const rejects = (spec: unknown, field: string, pattern: RegExp) =>
    assert.throws(
      () => createOptimizer(spec as OptimizerSpec),
      (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && e.location.option === field && pattern.test(e.message),
      `${JSON.stringify(spec)} should fail on ${field}`,
    );
  rejects({ type: 'rmsprop' }, 'type', /optimizer type must be one of 'sgd', 'adam', 'adamw'; got "rmsprop"/);
  rejects({ type: 'sgd', momentum: -0.1 }, 'momentum', /sgd: option momentum must be a number in \[0, 1\); got -0.1/);
  rejects({ type: 'sgd', momentum: NaN }, 'momentum', /momentum/);
  rejects({ type: 'sgd', weightDecay: Infinity }, 'weightDecay', /weightDecay must be a finite number ≥ 0/);
  rejects({ type: 'sgd', dampening: 2 }, 'dampening', /dampening/);
  rejects({ type: 'sgd', nesterov: true }, 'nesterov', /nesterov momentum requires momentum > 0 and dampening 0/);
  rejects({ type: 'sgd', nesterov: true, momentum: 0.9, dampening: 0.1 }, 'nesterov', /dampening 0\.1/);
  rejects({ type: 'sgd', beta1: 0.9 }, 'beta1', /sgd: unknown option 'beta1'/);
  rejects({ type: 'adam', beta1: 1 }, 'beta1', /adam: option beta1 must be a number in \[0, 1\); got 1/);
  rejects({ type: 'adamw', beta2: -0.5 }, 'beta2', /beta2/);
  rejects({ type: 'adam', eps: -1e-8 }, 'eps', /eps/);
  rejects({ type: 'adamw', momentum: 0.9 }, 'momentum', /adamw: unknown option 'momentum'/);

  assert.deepEqual(createOptimizer({ type: 'adamw' }).spec, { type: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  assert.deepEqual(createOptimizer({ type: 'adam' }).spec, { type: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  assert.deepEqual(createOptimizer({ type: 'sgd' }).spec, { type: 'sgd', momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 });

  const opt = createOptimizer({ type: 'sgd', momentum: 0.9 });
  const p = Float32Array.of(1, 2);
  const params = new Map([['w', p]]);
  const callFails = (grads: Map<string, Float32Array>, lr: number, field: string) =>
    assert.throws(
      () => opt.step(params, grads, lr),
      (e: unknown) => e instanceof GibbonError && e.location.option === field,
    );
  callFails(new Map([['w', Float32Array.of(1, 1)]]), -0.1, 'lr');
  callFails(new Map([['w', Float32Array.of(1, 1)]]), NaN, 'lr');
  callFails(new Map([['w', Float32Array.of(1)]]), 0.1, 'w');
  callFails(new Map([['x', Float32Array.of(1, 1)]]), 0.1, 'x');
  assert.deepEqual([...p], [1, 2], 'rejected calls change nothing');
  assert.equal(opt.state().steps, 0);
});
