/** The training heads (heads.ts) through whole training graphs, against finite differences of losses written out independently in JS. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelIR } from '../onnx/model.js';
import { Rng } from '../random.js';
import { makeModel, relativeToMax } from './testing/tiny-models.js';
import { Trainable } from './trainable.js';

describe('loss heads against finite differences of an independent JS loss', () => {
  // A smooth tiny model: x (N, 4) → Linear(4, 5) → Tanh → Linear(5, 3).
  const rng = new Rng(11);
  const init = {
    'fc1.weight': { dims: [5, 4], data: Float64Array.from({ length: 20 }, () => rng.uniformIn(-0.9, 0.9)) },
    'fc1.bias': { dims: [5], data: Float64Array.from({ length: 5 }, () => rng.uniformIn(-0.3, 0.3)) },
    'fc2.weight': { dims: [3, 5], data: Float64Array.from({ length: 15 }, () => rng.uniformIn(-1.2, 1.2)) },
    'fc2.bias': { dims: [3], data: Float64Array.from({ length: 3 }, () => rng.uniformIn(-0.3, 0.3)) },
  };
  type Params = Record<keyof typeof init, Float64Array>;
  const model = (): ModelIR =>
    makeModel(['batch', 4], 3, (b, param) => {
      const w = (name: keyof typeof init): string => param(name, init[name].dims, Float32Array.from(init[name].data));
      const h = b.op('Tanh', [b.op('Gemm', ['input', w('fc1.weight'), w('fc1.bias')], { transB: 1 })]);
      b.node('Gemm', [h, w('fc2.weight'), w('fc2.bias')], { transB: 1 }, { outputNames: ['logits'] });
    });
  // Parameters and inputs are float32 values (the graph sees exactly these), carried in float64.
  const f32 = (a: Float64Array): Float64Array => Float64Array.from(Float32Array.from(a));
  const params = (): Params => ({
    'fc1.weight': f32(init['fc1.weight'].data),
    'fc1.bias': f32(init['fc1.bias'].data),
    'fc2.weight': f32(init['fc2.weight'].data),
    'fc2.bias': f32(init['fc2.bias'].data),
  });

  /** Log-probabilities of every row, in float64. */
  function logProbs(p: Params, x: Float64Array, rows: number): Float64Array[] {
    const out: Float64Array[] = [];
    for (let r = 0; r < rows; r++) {
      const h = new Float64Array(5);
      for (let j = 0; j < 5; j++) {
        let s = p['fc1.bias'][j]!;
        for (let i = 0; i < 4; i++) s += p['fc1.weight'][j * 4 + i]! * x[r * 4 + i]!;
        h[j] = Math.tanh(s);
      }
      const z = new Float64Array(3);
      for (let k = 0; k < 3; k++) {
        let s = p['fc2.bias'][k]!;
        for (let j = 0; j < 5; j++) s += p['fc2.weight'][k * 5 + j]! * h[j]!;
        z[k] = s;
      }
      const max = Math.max(...z);
      const lse = max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
      out.push(z.map((v) => v - lse));
    }
    return out;
  }

  const n = 4;
  const xClean = f32(Float64Array.from({ length: n * 4 }, () => rng.uniformIn(-1, 1)));
  const xAdv = f32(xClean.map((v) => v + rng.uniformIn(-0.4, 0.4)));
  const y = Int32Array.of(0, 2, 1, 2);
  const beta = 3;

  /** mean_i CE(z_clean_i, y_i) + β · mean_i KL(p_clean_i ‖ p_adv_i), written out independently. */
  function tradesLoss(p: Params): number {
    const lc = logProbs(p, xClean, n);
    const la = logProbs(p, xAdv, n);
    let ce = 0;
    let kl = 0;
    for (let i = 0; i < n; i++) {
      ce -= lc[i]![y[i]!]!;
      for (let k = 0; k < 3; k++) kl += Math.exp(lc[i]![k]!) * (lc[i]![k]! - la[i]![k]!);
    }
    return ce / n + (beta * kl) / n;
  }

  test('TRADES head: the loss and every parameter gradient of the training graph match central differences (float64)', async (t) => {
    const trainable = await Trainable.create(model(), { threads: 1, trades: true });
    try {
      const x = new Float32Array(2 * n * 4);
      x.set(Float32Array.from(xClean), 0);
      x.set(Float32Array.from(xAdv), n * 4);
      const out = await trainable.trainStep(x, 2 * n, y, new Rng(0), beta);
      const base = params();
      const expectedLoss = tradesLoss(base);
      assert.ok(Math.abs(out.loss - expectedLoss) <= 1e-5 * Math.abs(expectedLoss), `loss ${out.loss} vs ${expectedLoss}`);
      let worst = 0;
      for (const name of Object.keys(init) as (keyof typeof init)[]) {
        const numeric = new Float64Array(base[name].length);
        for (let i = 0; i < numeric.length; i++) {
          const h = 1e-5;
          const plus = params();
          plus[name][i]! += h;
          const minus = params();
          minus[name][i]! -= h;
          numeric[i] = (tradesLoss(plus) - tradesLoss(minus)) / (2 * h);
        }
        const d = relativeToMax(out.grads.get(name)!, numeric);
        worst = Math.max(worst, d);
        assert.ok(d <= 1e-4, `${name}: gradient deviates ${d.toExponential(2)} relative to its max`);
      }
      t.diagnostic(`TRADES parameter gradients vs finite differences: max deviation ${worst.toExponential(2)} (relative to max)`);
      // β = 0 leaves the clean cross-entropy: the adversarial half gets no gradient.
      const ceOnly = await trainable.trainStep(x, 2 * n, y, new Rng(0), 0);
      const ce = logProbs(base, xClean, n).reduce((a, l, i) => a - l[y[i]!]!, 0) / n;
      assert.ok(Math.abs(ceOnly.loss - ce) <= 1e-5 * ce);
    } finally {
      await trainable.dispose();
    }
  });

  test('KL head: the input gradient of Σ KL(p ‖ softmax(f(x))) matches central differences (float64)', async (t) => {
    const trainable = await Trainable.create(model(), { threads: 1, klAttack: true });
    try {
      const p = params();
      const target = logProbs(p, xClean, n).map((l) => l.map(Math.exp));
      const probs = Float32Array.from(target.flatMap((r) => [...r]));
      const targetF = Array.from({ length: n }, (_, i) => Float64Array.from(probs.subarray(i * 3, (i + 1) * 3)));
      const klLoss = (x: Float64Array): number => {
        const lq = logProbs(p, x, n);
        let s = 0;
        for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) s += targetF[i]![k]! * (Math.log(targetF[i]![k]!) - lq[i]![k]!);
        return s;
      };
      const grad = await trainable.inputGradKl(Float32Array.from(xAdv), n, probs);
      const numeric = new Float64Array(xAdv.length);
      for (let i = 0; i < numeric.length; i++) {
        const h = 1e-5;
        const plus = xAdv.slice();
        plus[i]! += h;
        const minus = xAdv.slice();
        minus[i]! -= h;
        numeric[i] = (klLoss(plus) - klLoss(minus)) / (2 * h);
      }
      const d = relativeToMax(grad, numeric);
      t.diagnostic(`KL input gradient vs finite differences: max deviation ${d.toExponential(2)} (relative to max)`);
      assert.ok(d <= 1e-4, `KL input gradient deviates ${d.toExponential(2)}`);
      // At x' = x the KL is at its minimum: the gradient vanishes.
      const atClean = await trainable.inputGradKl(Float32Array.from(xClean), n, probs);
      assert.ok(
        atClean.every((v) => Math.abs(v) < 1e-5),
        `gradient at the clean point: ${Array.from(atClean).slice(0, 4).join(', ')}`,
      );
    } finally {
      await trainable.dispose();
    }
  });
});
