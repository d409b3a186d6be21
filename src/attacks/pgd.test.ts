import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientOracle } from '../model/oracles.js';
import { l2 } from '../norms/l2.js';
import { linf } from '../norms/linf.js';
import { runAttack } from './attack.js';
import { PgdAttack } from './pgd.js';
import { assertWithinBudget, robustAccuracy } from './testing/assertions.js';
import { loadedReferenceModel, referenceInputs } from './testing/reference-data.js';

const { x, y } = referenceInputs(64);
const reference = loadedReferenceModel();

test('PGD L∞ ε=0.3 leaves ≤ 5% robust accuracy on 64 MNIST images, every example inside ε and [0, 1]', async () => {
  const out = await runAttack(new PgdAttack(), gradientOracle(reference.model), x, y, { eps: 0.3, norm: 'linf', seed: 1 });
  assert.ok(robustAccuracy(out) <= 0.05, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, linf);
  const d = out.diagnostics!;
  assert.equal(d.initialLoss!.length, out.attacked.length);
  assert.equal(
    d.zeroGradient!.reduce((a, b) => a + b, 0),
    0,
    'an MLP has no zero gradients',
  );
});

test('same seed, same adversarial examples; another seed, other examples', async () => {
  const pgd = new PgdAttack({ steps: 5 });
  const run = (seed: number) => runAttack(pgd, gradientOracle(reference.model), x, y, { eps: 0.05, norm: 'linf', seed });
  const [a, b, c] = [await run(7), await run(7), await run(8)];
  assert.deepEqual(a.clipped.data, b.clipped.data);
  assert.deepEqual(a.success, b.success);
  assert.notDeepEqual(a.clipped.data, c.clipped.data);
});

test('PGD L2 ε=1.5 flips ≥ 85%, inside the L2 ball', async () => {
  const out = await runAttack(new PgdAttack({ relStepsize: 0.1 }), gradientOracle(reference.model), x, y, { eps: 1.5, norm: 'l2', seed: 1 });
  assert.ok(robustAccuracy(out) <= 0.15, `robust accuracy ${robustAccuracy(out)}`);
  assertWithinBudget(out, x, l2);
});

test('targeted PGD reaches the chosen class', async () => {
  const targets = Int32Array.from(y, (v) => (v + 1) % 10);
  const out = await runAttack(new PgdAttack({ steps: 20, relStepsize: 0.1 }), gradientOracle(reference.model), x, y, {
    eps: 0.3,
    norm: 'linf',
    targets,
    seed: 1,
  });
  const rate = out.success.reduce((a, b) => a + b, 0) / 64;
  assert.ok(rate >= 0.9, `targeted success ${rate}`);
  const predicted = await reference.model.predict(out.clipped);
  for (let i = 0; i < 64; i++) if (out.success[i]) assert.equal(predicted[i], targets[i]);
});

test('margin and DLR losses work too', async () => {
  for (const loss of ['margin', 'dlr'] as const) {
    const out = await runAttack(new PgdAttack({ loss, steps: 20, relStepsize: 0.1 }), gradientOracle(reference.model), x, y, {
      eps: 0.3,
      norm: 'linf',
      seed: 1,
    });
    assert.ok(robustAccuracy(out) <= 0.1, `${loss}: robust accuracy ${robustAccuracy(out)}`);
  }
});

test('restarts only add successes (the first restart is the single run)', async () => {
  const run = (restarts: number) =>
    runAttack(new PgdAttack({ steps: 10, restarts }), gradientOracle(reference.model), x, y, { eps: 0.08, norm: 'linf', seed: 2 });
  const [one, three] = [await run(1), await run(3)];
  for (let i = 0; i < 64; i++) if (one.success[i]) assert.equal(three.success[i], 1, `example ${i}`);
  assert.ok(robustAccuracy(three) < robustAccuracy(one), `${robustAccuracy(three)} vs ${robustAccuracy(one)}`);
});

test('progress is reported and an abort stops the attack', async () => {
  const controller = new AbortController();
  const seen: number[] = [];
  await assert.rejects(
    runAttack(new PgdAttack({ steps: 40 }), gradientOracle(reference.model), x, y, {
      eps: 0.01,
      norm: 'linf',
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.step);
        if (p.step === 2) controller.abort();
      },
    }),
    { name: 'AbortError' },
  );
  assert.deepEqual(seen, [0, 1, 2]);
});

test('absolute step size overrides the relative one; bad options are refused', () => {
  assert.equal(new PgdAttack({ absStepsize: 0.01 }).options.absStepsize, 0.01);
  assert.equal(new PgdAttack().options.relStepsize, 0.01 / 0.3);
  assert.throws(() => new PgdAttack({ steps: 0 }), /pgd: option steps must be a positive integer; got 0/);
  assert.throws(() => new PgdAttack({ absStepsize: -1 }), /absStepsize must be a finite number > 0 \(or unset\)/);
});
