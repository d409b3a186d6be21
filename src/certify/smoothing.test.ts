import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  binomialTestHalf,
  certifyExample,
  certifyFromCounts,
  checkSmoothingOptions,
  clopperPearsonLower,
  maximumRadius,
  noisyCopies,
  normalInverseCdf,
  predictFromCounts,
  sampleCounts,
  type BaseClassifier,
} from './smoothing.js';

const close = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);

// Reference values from scipy 1.17 (stats.beta.ppf(α, k, n−k+1), stats.norm.ppf, stats.binomtest).
test('Clopper–Pearson lower bound matches scipy', () => {
  const cases: [number, number, number, number][] = [
    [10000, 10000, 0.001, 0.9993094630025899],
    [9990, 10000, 0.001, 0.9975883080325683],
    [5200, 10000, 0.001, 0.5045018488791799],
    [1, 10, 0.05, 0.005116196891823701],
    [50, 100, 0.01, 0.38071746690695246],
    [100, 100, 0.001, 0.933254300796991],
  ];
  for (const [k, n, alpha, expected] of cases) close(clopperPearsonLower(k, n, alpha), expected, 1e-12, `k ${k} n ${n} α ${alpha}`);
  assert.equal(clopperPearsonLower(0, 100, 0.001), 0);
  assert.throws(
    () => clopperPearsonLower(11, 10, 0.01),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option',
  );
});

test('normal inverse CDF and the two-sided binomial test match scipy', () => {
  close(normalInverseCdf(0.999), 3.090232306167813, 1e-12, 'Φ⁻¹(0.999)');
  close(normalInverseCdf(0.975), 1.959963984540054, 1e-12, 'Φ⁻¹(0.975)');
  close(normalInverseCdf(0.5), 0, 1e-15, 'Φ⁻¹(0.5)');
  close(binomialTestHalf(60, 100), 0.05688793364098089, 1e-12, '60/100');
  close(binomialTestHalf(70, 100), 7.85013964559367e-5, 1e-15, '70/100');
  close(binomialTestHalf(30, 100), 7.85013964559367e-5, 1e-15, '30/100 (symmetric)');
  assert.equal(binomialTestHalf(5, 10), 1);
  close(binomialTestHalf(9, 10), 0.021484375, 1e-15, '9/10');
  close(binomialTestHalf(10, 10), 0.001953125, 1e-15, '10/10');
  close(binomialTestHalf(3, 3), 0.25, 1e-15, '3/3');
});

test('CERTIFY abstains exactly when the bound is at most 1/2 (n 10 000, α 0.001: the switch is between 5155 and 5156)', () => {
  const below = certifyFromCounts(3, 5155, 10000, 0.001, 0.25);
  assert.equal(below.prediction, 'abstain');
  assert.equal(below.radius, 0);
  close(below.pA, 0.49999993940747184, 1e-12, 'pA at 5155');
  const above = certifyFromCounts(3, 5156, 10000, 0.001, 0.25);
  assert.equal(above.prediction, 3);
  close(above.pA, 0.5000999682265885, 1e-12, 'pA at 5156');
  // σ·Φ⁻¹(0.5001) is tiny but positive.
  assert.ok(above.radius > 0 && above.radius < 1e-4, `radius ${above.radius}`);
  close(above.radius, 0.25 * normalInverseCdf(0.5000999682265885), 1e-15, 'radius');
  // At n 100 the switch is between 65 and 66.
  assert.equal(certifyFromCounts(0, 65, 100, 0.001, 0.5).prediction, 'abstain');
  assert.equal(certifyFromCounts(0, 66, 100, 0.001, 0.5).prediction, 0);
  // A guess that never shows up among the estimation samples abstains with bound 0.
  assert.deepEqual(certifyFromCounts(7, 0, 100, 0.001, 0.5), { prediction: 'abstain', pA: 0, radius: 0, guess: 7, countA: 0 });
});

test('all-agree counts give the largest radius n and α allow: σ·Φ⁻¹(α^(1/n))', () => {
  const all = certifyFromCounts(1, 10000, 10000, 0.001, 0.25);
  assert.equal(all.prediction, 1);
  close(all.pA, 0.001 ** (1 / 10000), 1e-12, 'pA = α^(1/n)');
  close(all.radius, 0.7996443786845846, 1e-10, 'radius (scipy)');
  close(maximumRadius(10000, 0.001, 0.25), all.radius, 0, 'maximumRadius');
  // Radius grows linearly in σ and with the count.
  close(certifyFromCounts(1, 10000, 10000, 0.001, 0.5).radius, 2 * all.radius, 1e-12, 'σ 0.5');
  assert.ok(certifyFromCounts(1, 9990, 10000, 0.001, 0.25).radius < all.radius);
});

test('PREDICT returns the top class only when the binomial test rejects a tie at level α', () => {
  assert.deepEqual(predictFromCounts([0, 70, 30, 0], 0.001).prediction, 1);
  assert.equal(predictFromCounts([0, 60, 40, 0], 0.001).prediction, 'abstain');
  assert.equal(predictFromCounts([50, 0, 0, 50], 0.5).prediction, 'abstain');
  // 10 of 10: p = 2⁻⁹ ≈ 0.00195, above α 0.001 but below 0.01.
  assert.equal(predictFromCounts([0, 0, 10], 0.001).prediction, 'abstain');
  assert.equal(predictFromCounts([0, 0, 10], 0.01).prediction, 2);
  close(predictFromCounts([0, 0, 10], 0.01).pValue, 0.001953125, 1e-15, 'p-value');
});

test('the noise sampler: mean x, standard deviation σ, tails of a normal, reproducible from the seed', () => {
  const x = new Float32Array([0.2, 0.8]);
  const sigma = 0.25;
  const count = 50000;
  const out = noisyCopies(x, count, sigma, new Rng(11));
  assert.equal(out.length, 2 * count);
  for (let j = 0; j < 2; j++) {
    let sum = 0;
    let sq = 0;
    let beyond2 = 0;
    for (let k = 0; k < count; k++) {
      const e = out[k * 2 + j]! - x[j]!;
      sum += e;
      sq += e * e;
      if (Math.abs(e) > 2 * sigma) beyond2++;
    }
    const mean = sum / count;
    const sd = Math.sqrt(sq / count - mean * mean);
    close(mean, 0, (4 * sigma) / Math.sqrt(count), `mean of coordinate ${j}`);
    close(sd, sigma, 0.01 * sigma, `sd of coordinate ${j}`);
    close(beyond2 / count, 0.0455, 0.004, `P(|e| > 2σ) of coordinate ${j}`);
  }
  assert.deepEqual(noisyCopies(x, 10, sigma, new Rng(11)), out.subarray(0, 20));
});

/** Predicts 1 when the first value is above the threshold, else 0: P(1) = 1 − Φ((t − x)/σ). */
function thresholdModel(threshold: number, calls: number[]): BaseClassifier {
  return {
    numClasses: 2,
    predict: async (x: Tensor) => {
      const n = x.shape[0]!;
      calls.push(n);
      const per = x.data.length / n;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = x.data[i * per]! > threshold ? 1 : 0;
      return out;
    },
  };
}

test('sampleCounts batches, counts every copy, and does not depend on the batch size', async () => {
  const calls: number[] = [];
  const x = new Float32Array([0.5, 0]);
  const a = await sampleCounts(thresholdModel(0.5, calls), x, [2], 2500, 0.25, 1000, new Rng(3));
  assert.deepEqual(calls, [1000, 1000, 500]);
  assert.equal(a[0]! + a[1]!, 2500);
  close(a[1]! / 2500, 0.5, 0.05, 'P(class 1) at the threshold');
  const b = await sampleCounts(thresholdModel(0.5, []), x, [2], 2500, 0.25, 7, new Rng(3));
  assert.deepEqual(b, a);
});

test('certifyExample on a linear base classifier: radius close to the exact distance to the boundary', async () => {
  // f(x) = [x₀ > 0]; g's exact radius at x₀ = 0.5 is 0.5 (the distance to the hyperplane); the
  // certificate is a lower bound that approaches it as n grows.
  const options = { sigma: 0.25, n0: 100, n: 20000, alpha: 0.001, batchSize: 5000 };
  checkSmoothingOptions(options);
  const c = await certifyExample(thresholdModel(0, []), new Float32Array([0.5]), [1], options, { selection: new Rng(1), estimation: new Rng(2) });
  assert.equal(c.prediction, 1);
  assert.ok(c.radius > 0.4 && c.radius < 0.5, `radius ${c.radius}`);
  // On the boundary (pA = 1/2): abstains.
  const tie = await certifyExample(thresholdModel(0, []), new Float32Array([0]), [1], options, { selection: new Rng(1), estimation: new Rng(2) });
  assert.equal(tie.prediction, 'abstain');
  assert.throws(
    () => checkSmoothingOptions({ ...options, alpha: 1 }),
    (e: unknown) => e instanceof GibbonError && e.location.option === 'alpha',
  );
  assert.throws(
    () => checkSmoothingOptions({ ...options, n0: 0 }),
    (e: unknown) => e instanceof GibbonError && e.location.option === 'n0',
  );
});
