import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnist } from '../data/mnist.js';
import { OnnxModel } from '../model/onnx-model.js';
import { decisionOracle, gradientOracle } from '../model/oracles.js';
import { LinearModel } from '../model/testing/linear-model.js';
import { l2 } from '../norms/l2.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { runAttack } from './attack.js';
import { CwAttack } from './cw.js';
import { HopSkipJumpAttack } from './hop-skip-jump.js';
import { createAttack } from './registry.js';
import { assertWithinBudget } from './testing/assertions.js';

/** models/mnist-standard.onnx, found from src/attacks or dist/src/attacks. */
const MODEL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []), 'models', 'mnist-standard.onnx');

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const k = s.length;
  return k % 2 ? s[(k - 1) / 2]! : (s[k / 2 - 1]! + s[k / 2]!) / 2;
}

/** Two classes on 8×8 inputs: class 1 iff w·x > 0, so the distance to the boundary is known exactly. */
function halfspace(): { model: LinearModel; x: Tensor; y: Int32Array; margin: Float64Array; w: Float32Array } {
  const d = 64;
  const n = 4;
  const rng = new Rng(7);
  const weights = new Float32Array(2 * d);
  for (let j = 0; j < d; j++) weights[d + j] = rng.normal();
  const w = weights.subarray(d);
  const model = new LinearModel(weights, new Float32Array(2), [1, 8, 8]);
  // Inputs in the middle of [0, 1]: the nearest boundary point is inside the bounds.
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniformIn(0.4, 0.6);
  const margin = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) margin[i] = margin[i]! + w[j]! * data[i * d + j]!;
  const y = Int32Array.from(margin, (m) => (m > 0 ? 1 : 0));
  return { model, x: { data, shape: [n, 1, 8, 8] }, y, margin, w };
}

let model: OnnxModel;
before(async () => {
  model = await OnnxModel.load(MODEL, { threads: 2 });
});
after(async () => model.dispose());

test('MNIST: after 5000 queries the median L2 is within 2× of white-box C&W', async () => {
  const { x, y } = loadMnist('test', { limit: 5 });
  const queries = 5000;
  const oracle = decisionOracle(model, { queryBudget: queries });
  const hsj = await runAttack(new HopSkipJumpAttack({ queries }), oracle, x, y, { eps: 100, norm: 'l2', seed: 1 });
  assert.equal(hsj.attacked.length, 5, 'all five test images are classified correctly');
  assert.deepEqual(Array.from(hsj.success), [1, 1, 1, 1, 1], 'every example ends adversarial (re-checked by the harness)');
  assert.equal(hsj.warnings.length, 0);
  assertWithinBudget(hsj, x, l2);
  const perExample = hsj.diagnostics!.queriesPerExample!;
  assert.ok(
    perExample.every((k) => k <= queries),
    `queries per example ${perExample.join(', ')}`,
  );
  assert.equal(
    perExample.reduce((a, b) => a + b, 0),
    hsj.queries,
  );

  // Fewer Adam steps than the paper's 10,000 keep this fast; c starts higher to match (as in cw.test).
  const cw = await runAttack(new CwAttack({ steps: 100, binarySearchSteps: 5, initialConst: 1, stepsize: 0.05 }), gradientOracle(model), x, y, {
    eps: 100,
    norm: 'l2',
  });
  const hsjMedian = median(Array.from(hsj.attacked, (i) => hsj.norms[i]!));
  const cwMedian = median(Array.from(hsj.attacked, (i) => cw.norms[i]!));
  assert.ok(hsjMedian / cwMedian <= 2, `median L2: HopSkipJump ${hsjMedian.toFixed(3)}, C&W ${cwMedian.toFixed(3)}`);
  assert.ok(hsjMedian > 0.2 && hsjMedian < 4, `median L2 ${hsjMedian}`);
});

test('a linear classifier: the distance found approaches the exact distance to the boundary', async () => {
  const { model: linear, x, y, margin, w } = halfspace();
  let wl2 = 0;
  let wl1 = 0;
  for (const v of w) {
    wl2 += v * v;
    wl1 += Math.abs(v);
  }
  for (const [norm, dual] of [
    ['l2', Math.sqrt(wl2)],
    ['linf', wl1],
  ] as const) {
    const out = await runAttack(new HopSkipJumpAttack({ queries: 2000 }), decisionOracle(linear), x, y, { eps: 100, norm, seed: 1 });
    assert.deepEqual(Array.from(out.success), [1, 1, 1, 1]);
    for (let i = 0; i < 4; i++) {
      const exact = Math.abs(margin[i]!) / dual;
      const ratio = out.norms[i]! / exact;
      assert.ok(ratio >= 1 - 1e-4 && ratio < 1.2, `${norm} example ${i}: distance ${out.norms[i]} vs exact ${exact}`);
    }
  }
});

test('the same seed gives the same result; another seed another', async () => {
  const { model: linear, x, y } = halfspace();
  const attack = new HopSkipJumpAttack({ queries: 400 });
  const run = (seed: number) => runAttack(attack, decisionOracle(linear), x, y, { eps: 100, norm: 'l2', seed });
  const [a, b, c] = [await run(3), await run(3), await run(4)];
  assert.deepEqual(a.raw.data, b.raw.data);
  assert.deepEqual(a.diagnostics!.queriesPerExample, b.diagnostics!.queriesPerExample);
  assert.notDeepEqual(a.raw.data, c.raw.data);
});

test("the oracle's budget stops the attack, which returns its best point so far", async () => {
  const { model: linear, x, y } = halfspace();
  const oracle = decisionOracle(linear, { queryBudget: 150 });
  const out = await runAttack(new HopSkipJumpAttack(), oracle, x, y, { eps: 100, norm: 'l2', seed: 1 });
  const perExample = Array.from(out.diagnostics!.queriesPerExample!);
  assert.ok(
    perExample.every((k) => k <= 150 && k >= 140),
    `queries ${perExample.join(', ')}`,
  );
  assert.equal(
    out.queries,
    perExample.reduce((s, k) => s + k, 0),
  );
  assert.deepEqual(Array.from(out.success), [1, 1, 1, 1]);
  for (let i = 0; i < 4; i++) assert.equal(oracle.remainingQueries(i), 150 - perExample[i]!);
});

test('an example never made adversarial comes back unchanged with success 0', async () => {
  // Always class 0: no noise draw is misclassified.
  const constant = new LinearModel(new Float32Array(2 * 64), Float32Array.of(1, 0), [1, 8, 8]);
  const { x } = halfspace();
  const out = await runAttack(new HopSkipJumpAttack({ initAttempts: 5 }), decisionOracle(constant), x, new Int32Array(4), { eps: 100, norm: 'l2' });
  assert.deepEqual(Array.from(out.success), [0, 0, 0, 0]);
  assert.deepEqual(out.raw.data, x.data);
  assert.deepEqual(Array.from(out.diagnostics!.queriesPerExample!), [5, 5, 5, 5]);
});

test('defaults from the paper, validation, registry entry', () => {
  const o = new HopSkipJumpAttack().options;
  assert.deepEqual([o.queries, o.steps, o.initialEvals, o.maxEvals, o.gamma, o.stepsizeSearch, o.initAttempts], [5000, 40, 100, 10000, 1, 'geometric', 100]);
  assert.throws(() => new HopSkipJumpAttack({ stepsizeSearch: 'linear' as never }), /hsj: option stepsizeSearch must be one of 'geometric', 'grid'/);
  assert.throws(() => new HopSkipJumpAttack({ queries: 0 }), /hsj: option queries must be a positive integer/);
  const entry = createAttack('hsj', { queries: 100 });
  assert.equal(entry.oracleKind, 'decision');
  assert.equal(entry.kind, 'minimization');
  assert.deepEqual(entry.norms, ['l2', 'linf']);
});

test('grid step-size search also converges', async () => {
  const { model: linear, x, y, margin, w } = halfspace();
  const wl2 = Math.sqrt(w.reduce((s, v) => s + v * v, 0));
  const out = await runAttack(new HopSkipJumpAttack({ queries: 2000, stepsizeSearch: 'grid' }), decisionOracle(linear), x, y, {
    eps: 100,
    norm: 'l2',
    seed: 1,
  });
  for (let i = 0; i < 4; i++) {
    const ratio = out.norms[i]! / (Math.abs(margin[i]!) / wl2);
    assert.ok(out.success[i] === 1 && ratio < 1.3, `example ${i}: ratio ${ratio}`);
  }
});
