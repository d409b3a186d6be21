import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnist } from '../data/mnist.js';
import { OnnxModel } from '../model/onnx-model.js';
import { scoreOracle } from '../model/oracles.js';
import { l2 } from '../norms/l2.js';
import { linf } from '../norms/linf.js';
import { gatherRows, gatherValues } from '../tensor/rows.js';
import { argmaxRows, type Tensor } from '../tensor/tensor.js';
import { runAttack, type AttackOutcome } from './attack.js';
import { createAttack } from './registry.js';
import { LinearModel } from '../model/testing/linear-model.js';
import { lineMetaPattern, squareFraction, squareMetaPattern, SquareAttack } from './square.js';
import { assertWithinBudget, robustAccuracy } from './testing/assertions.js';

/** models/mnist-standard.onnx, found from src/attacks or dist/src/attacks. */
const MODEL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []), 'models', 'mnist-standard.onnx');

const { x, y } = loadMnist('test', { limit: 100 });
let model: OnnxModel;
before(async () => {
  model = await OnnxModel.load(MODEL, { threads: 1 });
});
after(async () => model.dispose());

/** The first n test images. */
function subset(n: number): { x: Tensor; y: Int32Array } {
  const idx = Array.from({ length: n }, (_, i) => i);
  return { x: gatherRows(x, idx), y: gatherValues(y, idx) };
}

/** Queries of the attacked examples, and the median over those the attack flipped. */
function queryStats(outcome: AttackOutcome): { perExample: Int32Array; medianOfSuccesses: number } {
  const perExample = outcome.diagnostics!.queriesPerExample!;
  const flipped = [...perExample].filter((_, i) => outcome.success[outcome.attacked[i]!]).sort((a, b) => a - b);
  return { perExample, medianOfSuccesses: flipped.length ? flipped[Math.floor(flipped.length / 2)]! : NaN };
}

test('the window fraction halves at iterations 10, 50, 200 … 8000 of 10 000, scaled to the horizon', () => {
  assert.equal(squareFraction(0.8, 0, 10000), 0.8);
  assert.equal(squareFraction(0.8, 10, 10000), 0.8);
  assert.equal(squareFraction(0.8, 11, 10000), 0.4);
  assert.equal(squareFraction(0.8, 51, 10000), 0.2);
  assert.equal(squareFraction(0.8, 9999, 10000), 0.8 / 512);
  // 5000 queries: the same schedule at half the iterations.
  assert.equal(squareFraction(0.8, 6, 5000), 0.4);
  assert.equal(squareFraction(0.1, 2500, 5000), 0.1 / 128);
});

test('Square L∞ ε=0.3 with 5000 queries leaves ≤ 5% robust accuracy on 100 MNIST images', async () => {
  const oracle = scoreOracle(model, { queryBudget: 5000 });
  const out = await runAttack(new SquareAttack(), oracle, x, y, { eps: 0.3, norm: 'linf', seed: 0 });
  assert.ok(robustAccuracy(out) <= 0.05, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, linf);
  const { perExample, medianOfSuccesses } = queryStats(out);
  assert.equal(perExample.length, out.attacked.length);
  assert.equal(
    perExample.reduce((a, b) => a + b, 0),
    out.queries,
  );
  assert.ok(Math.max(...perExample) <= 5000);
  // A standard (non-robust) model falls within a few hundred queries.
  assert.ok(medianOfSuccesses <= 200, `median queries ${medianOfSuccesses}`);
  assert.equal(out.warnings.length, 0);
});

test('Square L2 ε=2 flips at least half of 20 MNIST images in 2000 queries, inside the L2 ball', async () => {
  // Measured: 12 of 20 (seed 0); 69 of 99 attacked images with 5000 queries; white-box APGD-L2 flips ~90%.
  const out = await runAttack(new SquareAttack({ queries: 2000 }), scoreOracle(model), subset(20).x, subset(20).y, { eps: 2, norm: 'l2', seed: 0 });
  assert.ok(robustAccuracy(out) <= 0.5, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, subset(20).x, l2);
  assert.ok(Math.max(...out.norms) > 1.9, 'candidates sit on the sphere of radius ε');
});

test('an oracle budget of 300 queries per example is never exceeded and never raises', async () => {
  const n = 20;
  const { x: xs, y: ys } = subset(n);
  const oracle = scoreOracle(model, { queryBudget: 300 });
  // ε = 0.08 leaves many examples robust, so they run into the budget.
  const out = await runAttack(new SquareAttack(), oracle, xs, ys, { eps: 0.08, norm: 'linf', seed: 3 });
  const { perExample } = queryStats(out);
  assert.ok(oracle.queries <= 300 * n, `${oracle.queries} queries`);
  assert.equal(Math.max(...perExample), 300);
  for (let i = 0; i < n; i++) assert.ok(oracle.remainingQueries(i) >= 0);
  assert.ok(robustAccuracy(out) > 0.2, 'some examples stay robust and exhaust the budget');
  // A second attack on the same oracle finds the spent budgets and leaves those examples alone.
  const left = Array.from({ length: n }, (_, i) => oracle.remainingQueries(i));
  const again = await runAttack(new SquareAttack({ restarts: 2 }), oracle, xs, ys, { eps: 0.08, norm: 'linf', seed: 4 });
  again.attacked.forEach((e, i) => assert.ok(again.diagnostics!.queriesPerExample![i]! <= left[e]!, `example ${e}`));
  assert.ok(left.some((r) => r === 0));
  assert.ok(oracle.queries <= 300 * n, `${oracle.queries} queries`);
});

test('the same seed gives the same result; another seed a different one', async () => {
  const { x: xs, y: ys } = subset(10);
  const run = (seed: number) => runAttack(new SquareAttack({ queries: 100 }), scoreOracle(model), xs, ys, { eps: 1.2, norm: 'l2', seed });
  const [a, b, c] = [await run(5), await run(5), await run(6)];
  assert.deepEqual(a.clipped.data, b.clipped.data);
  assert.deepEqual(a.diagnostics!.queriesPerExample, b.diagnostics!.queriesPerExample);
  assert.notDeepEqual(a.clipped.data, c.clipped.data);
});

test('targeted Square L∞ reaches the target class (y + 1 mod 10) on most examples', async () => {
  const { x: xs, y: ys } = subset(20);
  const targets = Int32Array.from(ys, (v) => (v + 1) % 10);
  const out = await runAttack(createAttack('square', { queries: 1000 }), scoreOracle(model), xs, ys, { eps: 0.3, norm: 'linf', targets, seed: 2 });
  const predicted = argmaxRows(await model.logits(out.clipped));
  let reached = 0;
  for (let i = 0; i < ys.length; i++) {
    if (out.success[i]) {
      assert.equal(predicted[i], targets[i]);
      reached++;
    }
  }
  assert.ok(reached >= 15, `${reached}/20 reached their target`); // measured: 20/20
  assertWithinBudget(out, xs, linf);
});

test('the L2 meta-pattern: opposite-sign pseudo-Gaussian halves, unit norm', () => {
  const p = squareMetaPattern(5);
  const expected = [
    [0.04916, 0.15978, 0.15978, 0.15978, 0.04916],
    [0.04916, 0.15978, 0.60224, 0.15978, 0.04916],
    [-0.04559, -0.14817, -0.14817, -0.14817, -0.04559],
    [-0.04559, -0.14817, -0.55848, -0.14817, -0.04559],
    [-0.04559, -0.14817, -0.14817, -0.14817, -0.04559],
  ].flat();
  expected.forEach((v, i) => assert.ok(Math.abs(p[i]! - v) < 1e-5, `entry ${i}: ${p[i]} vs ${v}`));
  assert.ok(Math.abs(p.reduce((a, v) => a + v * v, 0) - 1) < 1e-12);
  assert.ok(Math.abs(squareMetaPattern(4)[6]! - 0.60517) < 1e-5);
});

test('options are validated; lossOn probabilities works like logits', async () => {
  assert.throws(() => new SquareAttack({ pInit: 0 }), /square: option pInit must be a number in \(0, 1\] \(or unset\); got 0/);
  assert.throws(() => new SquareAttack({ lossOn: 'softmax' as never }), /option lossOn must be one of 'auto', 'logits', 'probabilities'/);
  assert.equal(new SquareAttack().options.queries, 5000);
  const out = await runAttack(new SquareAttack({ lossOn: 'probabilities', queries: 500 }), scoreOracle(model), subset(10).x, subset(10).y, {
    eps: 0.3,
    norm: 'linf',
    seed: 1,
  });
  assert.ok(robustAccuracy(out) <= 0.1, `robust accuracy ${robustAccuracy(out)}`);
});

test('the 1-D meta-pattern: a positive then a negative bump, unit norm', () => {
  const p = lineMetaPattern(7);
  assert.equal(p.length, 7);
  assert.ok(Math.abs(p.reduce((a, v) => a + v * v, 0) - 1) < 1e-12);
  for (let i = 0; i < 3; i++) assert.ok(p[i]! > 0, `p[${i}] = ${p[i]}`);
  for (let i = 3; i < 7; i++) assert.ok(p[i]! < 0, `p[${i}] = ${p[i]}`);
});

for (const [norm, eps] of [
  ['linf', 0.15],
  ['l2', 1.5],
] as const) {
  test(`Square ${norm} searches 1-D inputs (audio-like (N, 1, L) and features (N, L)) and flips a linear model`, async () => {
    const length = 64;
    // Class 1 when the mean of the samples exceeds that of a fixed half-and-half pattern's.
    const w = new Float32Array(2 * length);
    for (let j = 0; j < length; j++) w[length + j] = j < length / 2 ? 1 / length : -1 / length;
    for (const shape of [[length], [1, length]]) {
      const model = new LinearModel(w, new Float32Array([0.02, 0]), shape);
      const n = 8;
      const xs = new Float32Array(n * length).fill(0.5);
      const oracle = scoreOracle(model, { queryBudget: 2000 });
      const out = await runAttack(new SquareAttack({ queries: 500 }), oracle, { data: xs, shape: [n, ...shape] }, new Int32Array(n), { eps, norm, seed: 1 });
      assert.equal(out.success.filter((s) => s === 1).length, n, `shape [${shape}] ${norm}: ${[...out.success]}`);
      assertWithinBudget(out, { data: xs, shape: [n, ...shape] }, norm === 'linf' ? linf : l2);
    }
  });
}
