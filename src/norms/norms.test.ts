import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { UNIT_BOUNDS } from '../model/bounds.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { normByName } from './index.js';
import { l2 } from './l2.js';
import { linf } from './linf.js';

function randomBatch(rng: Rng, n: number, d: number, low = 0, high = 1): Tensor {
  return { data: rng.fillUniform(new Float32Array(n * d), low, high), shape: [n, d] };
}

const bounds = UNIT_BOUNDS;

for (const norm of [linf, l2]) {
  test(`${norm.name}: projection lands in the ball ∩ bounds, is idempotent, and keeps points already inside`, () => {
    const rng = new Rng(1);
    const eps = norm.name === 'linf' ? 0.1 : 1.5;
    const x0 = randomBatch(rng, 16, 100);
    const far = randomBatch(rng, 16, 100, -2, 3);
    const p = norm.project(x0, far, eps, bounds);
    const d = norm.distance(p, x0);
    for (let i = 0; i < 16; i++) assert.ok(d[i]! <= eps, `row ${i}: ${d[i]} > ${eps}`);
    for (const v of p.data) assert.ok(v >= 0 && v <= 1);
    assert.deepEqual(norm.project(x0, p, eps, bounds).data, p.data, 'idempotent');
    const inside = norm.randomStart(x0, eps / 2, rng, bounds);
    assert.deepEqual(norm.project(x0, inside, eps, bounds).data, inside.data, 'points inside stay');
    assert.deepEqual(norm.clipPerturbation(x0, far, eps, bounds).data, p.data);
  });

  test(`${norm.name}: random starts are inside the ball and bounds, seeded`, () => {
    const x0 = randomBatch(new Rng(2), 8, 50);
    const eps = norm.name === 'linf' ? 0.3 : 2;
    const a = norm.randomStart(x0, eps, new Rng(5), bounds);
    const b = norm.randomStart(x0, eps, new Rng(5), bounds);
    const c = norm.randomStart(x0, eps, new Rng(6), bounds);
    assert.deepEqual(a.data, b.data);
    assert.notDeepEqual(a.data, c.data);
    for (const v of norm.distance(a, x0)) assert.ok(v <= eps && v > 0);
    for (const v of a.data) assert.ok(v >= 0 && v <= 1);
  });

  test(`${norm.name}: ⟨normalizeGradient(g), g⟩ = dualNorm(g) and the direction has unit norm`, () => {
    const g = randomBatch(new Rng(3), 4, 30, -1, 1);
    g.data.fill(0, 30, 60); // a zero row stays zero
    const u = norm.normalizeGradient(g);
    const dual = norm.dualNorm(g);
    const size = norm.magnitude(u);
    for (let i = 0; i < 4; i++) {
      let dot = 0;
      for (let j = 0; j < 30; j++) dot += u.data[i * 30 + j]! * g.data[i * 30 + j]!;
      assert.ok(Math.abs(dot - dual[i]!) <= 1e-4 * Math.max(1, dual[i]!), `row ${i}: ${dot} vs ${dual[i]}`);
      assert.ok(i === 1 ? size[i] === 0 : Math.abs(size[i]! - 1) < 1e-5, `row ${i} norm ${size[i]}`);
    }
  });
}

test('linf: projection is the clamp to [x0 − ε, x0 + ε] ∩ [0, 1], exact in float32', () => {
  const x0: Tensor = { data: Float32Array.from([0.3, 0.95, 0.05, 0.7]), shape: [1, 4] };
  const x: Tensor = { data: Float32Array.from([1, 2, -1, 0.71]), shape: [1, 4] };
  const p = linf.project(x0, x, 0.1, bounds);
  assert.deepEqual(
    Array.from(p.data),
    Array.from(Float32Array.from([0.4, 1, 0, 0.71])).map((v, i) => (i === 0 ? p.data[0]! : v)),
  );
  assert.ok(Math.abs(p.data[0]! - 0.4) < 1e-7);
  // Many ε values where float32 rounding of x0 ± ε overshoots: never outside.
  const rng = new Rng(11);
  for (let t = 0; t < 2000; t++) {
    const a: Tensor = { data: Float32Array.of(rng.uniform()), shape: [1, 1] };
    const eps = rng.uniformIn(0.001, 0.5);
    const q = linf.project(a, { data: Float32Array.of(a.data[0]! + (rng.uniform() < 0.5 ? -1 : 1)), shape: [1, 1] }, eps, bounds);
    assert.ok(Math.abs(q.data[0]! - a.data[0]!) <= eps, `|Δ| = ${Math.abs(q.data[0]! - a.data[0]!)} > ε = ${eps}`);
  }
});

test('l2: a point outside (and away from the bounds) is projected onto the sphere along the same direction', () => {
  const x0: Tensor = { data: Float32Array.from([0.5, 0.5]), shape: [1, 2] };
  const x: Tensor = { data: Float32Array.from([0.8, 0.9]), shape: [1, 2] };
  const p = l2.project(x0, x, 0.25, bounds);
  assert.ok(Math.abs(p.data[0]! - 0.65) < 1e-6 && Math.abs(p.data[1]! - 0.7) < 1e-6, `${p.data}`);
  assert.ok(Math.abs(l2.distance(p, x0)[0]! - 0.25) < 1e-6);
});

test('distances: L∞ is the largest change, L2 the Euclidean length', () => {
  const a: Tensor = { data: Float32Array.from([0, 0, 0, 1, 1, 1]), shape: [2, 3] };
  const b: Tensor = { data: Float32Array.from([0.3, -0.4, 0, 1, 1, 1]), shape: [2, 3] };
  assert.deepEqual(Array.from(linf.distance(a, b)), [Math.fround(0.4), 0]);
  assert.ok(Math.abs(l2.distance(a, b)[0]! - 0.5) < 1e-7);
  assert.throws(() => linf.distance(a, { data: new Float32Array(3), shape: [1, 3] }), GibbonError);
});

test('normByName and bad ε', () => {
  assert.equal(normByName('l2'), l2);
  assert.throws(() => normByName('l3'), /unknown norm 'l3'; valid: linf, l2/);
  const x: Tensor = { data: new Float32Array(2), shape: [1, 2] };
  assert.throws(
    () => linf.project(x, x, -1, bounds),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option',
  );
});
