import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxModel } from '../model/onnx-model.js';
import { gradientOracle } from '../model/oracles.js';
import { LinearModel } from '../model/testing/linear-model.js';
import { l2 } from '../norms/l2.js';
import { linf } from '../norms/linf.js';
import { runAttack } from './attack.js';
import { FabAttack, projectOntoHyperplane } from './fab.js';
import { createAttack } from './registry.js';
import { assertWithinBudget, robustAccuracy } from './testing/assertions.js';
import { referenceInputs, referenceModelPath } from './testing/reference-data.js';

const f32 = (...v: number[]): Float32Array => Float32Array.from(v);

function project(w: number[], c: number, lo: number[], hi: number[], norm: 'linf' | 'l2'): number[] {
  const out = new Float32Array(w.length);
  projectOntoHyperplane(f32(...w), c, f32(...lo), f32(...hi), norm, out);
  return Array.from(out);
}
const close = (a: number[], b: number[], tol = 1e-6): void => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol, `[${a}] vs [${b}]`));

test('projection onto w·δ = c: the closed forms without an active box, the box when it binds, the nearest corner when unreachable', () => {
  const w = [2, -1, 0.5];
  const big = [-10, -10, -10];
  const BIG = [10, 10, 10];
  // L2: δ = c·w/‖w‖²; L∞: δ = c·sign(w)/‖w‖₁.
  close(
    project(w, 1.05, big, BIG, 'l2'),
    w.map((v) => (1.05 * v) / 5.25),
  );
  close(
    project(w, -0.7, big, BIG, 'linf'),
    w.map((v) => (-0.7 * Math.sign(v)) / 3.5),
  );
  // Box binds: w = (1, 1), c = 1.5, δ₀ ≤ 0.5 → (0.5, 1) in both norms.
  close(project([1, 1], 1.5, [-1, -1], [0.5, 2], 'linf'), [0.5, 1]);
  close(project([1, 1], 1.5, [-1, -1], [0.5, 2], 'l2'), [0.5, 1]);
  // Unreachable: the corner that gets closest.
  close(project([1, -2], 10, [-1, -0.25], [1, 0.5], 'linf'), [1, -0.25]);
  // A zero coordinate of w is never moved; c = 0 gives δ = 0.
  close(project([0, 3], 1.5, big.slice(0, 2), BIG.slice(0, 2), 'linf'), [0, 0.5]);
  close(project([1, 1], 0, [-1, -1], [1, 1], 'l2'), [0, 0]);
});

test('projection: minimal among random feasible points on the hyperplane (L∞ and L2, box active)', () => {
  let s = 5;
  const r = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  for (const norm of ['linf', 'l2'] as const) {
    for (let trial = 0; trial < 20; trial++) {
      const n = 4;
      const w = Array.from({ length: n }, () => 2 * r() - 1);
      const lo = Array.from({ length: n }, () => -0.6 * r());
      const hi = Array.from({ length: n }, () => 0.6 * r());
      const c = 0.3 * (2 * r() - 1);
      const d = project(w, c, lo, hi, norm);
      const dot = d.reduce((a, v, i) => a + v * w[i]!, 0);
      const size = (v: number[]): number => (norm === 'linf' ? Math.max(...v.map(Math.abs)) : Math.hypot(...v));
      d.forEach((v, i) => assert.ok(v >= lo[i]! - 1e-7 && v <= hi[i]! + 1e-7));
      let reachable = false;
      for (let k = 0; k < 4000; k++) {
        // A random box point, moved along one coordinate onto the hyperplane when that stays in the box.
        const p = lo.map((l, i) => l + (hi[i]! - l) * r());
        const j = Math.floor(r() * n);
        if (Math.abs(w[j]!) < 1e-3) continue;
        p[j] = (c - p.reduce((a, v, i) => a + (i === j ? 0 : v * w[i]!), 0)) / w[j]!;
        if (p[j]! < lo[j]! || p[j]! > hi[j]!) continue;
        reachable = true;
        assert.ok(size(p) >= size(d) - 1e-6, `${norm}: feasible point of norm ${size(p)} beats the projection's ${size(d)}`);
      }
      if (reachable) assert.ok(Math.abs(dot - c) < 1e-5, `${norm}: w·δ = ${dot}, c = ${c}`);
    }
  }
});

/** A 4-class linear model on 6 features with examples near the middle of [0, 1] and boundaries close by. */
function linearProblem(): { model: LinearModel; x: Float32Array; y: Int32Array; minimal: (norm: 'linf' | 'l2') => number[] } {
  let s = 17;
  const r = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const [c, d, n] = [4, 6, 8];
  const weights = Float32Array.from({ length: c * d }, () => 2 * r() - 1);
  const bias = new Float32Array(c);
  const model = new LinearModel(weights, bias, [d]);
  const x = Float32Array.from({ length: n * d }, () => 0.45 + 0.1 * r());
  const y = new Int32Array(n);
  const logits = (i: number): number[] =>
    Array.from({ length: c }, (_, k) => weights.subarray(k * d, (k + 1) * d).reduce((a, wv, j) => a + wv * x[i * d + j]!, 0));
  for (let i = 0; i < n; i++) {
    const z = logits(i);
    y[i] = z.indexOf(Math.max(...z));
  }
  // Exact distance to the nearest other class: min_k (z_y − z_k) / ‖w_y − w_k‖_dual (the box is far).
  const minimal = (norm: 'linf' | 'l2'): number[] =>
    Array.from({ length: n }, (_, i) => {
      const z = logits(i);
      let best = Infinity;
      for (let k = 0; k < c; k++) {
        if (k === y[i]) continue;
        const diff = Array.from({ length: d }, (_, j) => weights[y[i]! * d + j]! - weights[k * d + j]!);
        const dual = norm === 'linf' ? diff.reduce((a, v) => a + Math.abs(v), 0) : Math.hypot(...diff);
        best = Math.min(best, (z[y[i]!]! - z[k]!) / dual);
      }
      return best;
    });
  return { model, x, y, minimal };
}

for (const [norm, metric, name] of [
  ['linf', linf, 'fab-t'],
  ['l2', l2, 'fab-t'],
  ['linf', linf, 'fab'],
  ['l2', l2, 'fab'],
] as const) {
  test(`${name} ${norm} on a linear model: every example flipped at (close to) the exact minimal distance`, async () => {
    const { model, x, y, minimal } = linearProblem();
    const exact = minimal(norm);
    assert.ok(Math.max(...exact) < 0.2, `boundaries are close: ${exact}`);
    const xs = { data: x, shape: [y.length, 6] };
    const out = await runAttack(createAttack(name), gradientOracle(model), xs, y, { eps: 1, norm, seed: 1 });
    assert.equal(robustAccuracy(out), 0);
    for (let i = 0; i < y.length; i++) {
      const found = out.norms[i]!;
      assert.ok(found >= exact[i]! * (1 - 1e-4), `example ${i}: ${found} below the exact minimum ${exact[i]}`);
      assert.ok(found <= exact[i]! * 1.01, `example ${i}: ${found}, exact minimum ${exact[i]}`);
    }
    // With ε below every example's minimal distance nothing can succeed, and the harness keeps the budget.
    const eps = 0.9 * Math.min(...exact);
    const bounded = await runAttack(createAttack(name, { steps: 20 }), gradientOracle(model), xs, y, { eps, norm, seed: 1 });
    assert.equal(robustAccuracy(bounded), 1);
    assertWithinBudget(bounded, xs, metric, { raw: false });
  });
}

test('FAB-T with a targeted criterion reaches the given class', async () => {
  const { model, x, y } = linearProblem();
  const targets = Int32Array.from(y, (v) => (v + 1) % 4);
  const xs = { data: x, shape: [y.length, 6] };
  const out = await runAttack(new FabAttack(), gradientOracle(model), xs, y, { eps: 2, norm: 'l2', targets, seed: 2 });
  const z = await model.logits(out.clipped);
  for (let i = 0; i < y.length; i++) {
    if (!out.success[i]) continue;
    const row = Array.from(z.data.subarray(i * 4, (i + 1) * 4));
    assert.equal(row.indexOf(Math.max(...row)), targets[i], `example ${i} lands in its target class`);
  }
  assert.ok(robustAccuracy(out) <= 0.25, `robust accuracy ${robustAccuracy(out)}`);
});

test('registry: fab-t with AutoAttack defaults, fab the closest-boundary search; options validated', () => {
  const fab = createAttack('fab-t');
  assert.equal(fab.kind, 'minimization');
  assert.equal(fab.name, 'fab-t');
  assert.deepEqual(fab.options, { search: 'targets', steps: 100, targetClasses: 9, restarts: 1, alphaMax: 0.1, eta: 1.05, beta: 0.9 });
  assert.equal(createAttack('fab').name, 'fab');
  assert.equal((createAttack('fab').options as { search: string }).search, 'closest');
  assert.throws(() => createAttack('fab', { search: 'targets' }), /search is fixed/);
  assert.throws(() => createAttack('fab-t', { beta: 1.5 }), /beta/);
  assert.throws(() => createAttack('fab-t', { steps: 0 }), /steps/);
});

let mnist: OnnxModel;
before(async () => {
  mnist = await OnnxModel.load(referenceModelPath('mnist_cnn'), { threads: 2 });
});
after(async () => mnist.dispose());

test('FAB-T L∞ on the reference MNIST CNN finds adversarials at ε 0.3 for most of 20 images', async () => {
  const { x, y } = referenceInputs(20);
  const out = await runAttack(new FabAttack({ steps: 50, targetClasses: 3 }), gradientOracle(mnist), x, y, { eps: 0.3, norm: 'linf', seed: 3 });
  assert.ok(robustAccuracy(out) <= 0.25, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, linf, { raw: false });
});
