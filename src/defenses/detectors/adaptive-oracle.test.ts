import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAttack, type Attack } from '../../attacks/attack.js';
import { PgdAttack } from '../../attacks/pgd.js';
import { undetectedMisclassification } from '../../criteria/undetected-misclassification.js';
import { GibbonError } from '../../errors.js';
import type { GradientOracle } from '../../model/oracles.js';
import { loadModel } from '../../onnx/model.js';
import { gatherRows } from '../../tensor/rows.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adaptiveOracle, clampToCells, type PinnedCells } from './adaptive-oracle.js';
import { EquippedModel } from './equipped-model.js';
import { STANDARD_MODEL, testImages } from './testing/mnist-fixtures.js';

const OBJECTIVE = { kappa: 2, threshold: -0.9, scale: 0.1, delta: 0.05 };

/** Cells ±0.05 around x, and for example 1 the whole image pinned to [0.4, 0.6]. */
function cellsAround(x: Tensor): PinnedCells {
  const lower = x.data.map((v) => Math.max(0, v - 0.05));
  const upper = x.data.map((v) => Math.min(1, v + 0.05));
  lower.fill(0.4, 784, 2 * 784);
  upper.fill(0.6, 784, 2 * 784);
  return { lower, upper };
}

test('adaptive oracle: rows of class scores + detector score, the objective as loss, pinned queries clamped', async () => {
  const equipped = await EquippedModel.create(loadModel(STANDARD_MODEL), { kind: 'msp' }, { threads: 1 });
  try {
    const { x, y } = testImages('mnist', 3);
    const plain = adaptiveOracle(equipped, { objective: OBJECTIVE, lambda: 1 });
    const direct = await equipped.run(x);
    const rows = await plain.logits(x);
    assert.deepEqual(rows.shape, [3, 11]);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(Array.from(rows.data.subarray(i * 11, i * 11 + 10)), Array.from(direct.logits.data.subarray(i * 10, (i + 1) * 10)));
      assert.equal(rows.data[i * 11 + 10], direct.score[i]);
    }
    const r = await plain.lossAndGrad(x, y, 'margin');
    const expected = await equipped.objectiveAndGrad(x, y, Float32Array.of(1, 1, 1), OBJECTIVE);
    assert.deepEqual(Array.from(r.loss), Array.from(expected.objective));
    assert.equal(plain.queries, 6);
    await assert.rejects(plain.lossAndGrad(x, y, 'ce'), (e: unknown) => e instanceof GibbonError && /asked for 'ce'.*use loss 'margin'/.test(e.message));

    // Pinned: a query far outside the cells is answered at the clamped point; a view keeps each example's cells.
    const cells = cellsAround(x);
    const pinned = adaptiveOracle(equipped, { objective: OBJECTIVE, lambda: 1, pinned: cells });
    const far: Tensor = { data: new Float32Array(3 * 784).fill(1), shape: [3, 1, 28, 28] };
    const clamped = clampToCells(far, cells);
    assert.equal(clamped.data[784], Math.fround(0.6));
    const atClamp = await equipped.run(clamped);
    const view = pinned.forExamples([2, 1]);
    const viewRows = await view.logits(gatherRows(far, [2, 1]));
    assert.equal(viewRows.data[10], atClamp.score[2]);
    assert.equal(viewRows.data[21], atClamp.score[1]);
    // Gradient components that push past a cell's edge are zeroed: at `far` (above every upper edge) none is positive.
    const g = await view.lossAndGrad(gatherRows(far, [2, 1]), [y[2]!, y[1]!], 'margin', undefined, [0, 1]);
    assert.ok(g.grad.data.every((v) => v <= 0));
    assert.ok(
      g.grad.data.some((v) => v < 0),
      'the inward components remain',
    );
    await assert.rejects(view.logits(far, [0, 1, 2]), /example 2, not in this oracle's batch of 2/);
  } finally {
    await equipped.dispose();
  }
});

test('adaptive oracle through the harness: success is judged on the clamped point of a pinned oracle', async () => {
  const equipped = await EquippedModel.create(loadModel(STANDARD_MODEL), { kind: 'msp' }, { threads: 1 });
  try {
    const { x, y } = testImages('mnist', 4);
    // τ above every score: only misclassification matters; cells of ±0.05 are too tight to flip an MNIST digit.
    const objective = { ...OBJECTIVE, threshold: 1 };
    const criterion = undetectedMisclassification(y, { numClasses: 10, threshold: 1 });
    const pgd = new PgdAttack({ steps: 10, relStepsize: 0.1, loss: 'margin' });
    const cells = { lower: x.data.map((v) => Math.max(0, v - 0.05)), upper: x.data.map((v) => Math.min(1, v + 0.05)) };
    const free = await runAttack(pgd, adaptiveOracle(equipped, { objective, lambda: 1 }), x, criterion, { eps: 0.3, norm: 'linf' });
    assert.deepEqual(Array.from(free.cleanSuccess), [0, 0, 0, 0]);
    assert.ok(free.success.reduce((a, v) => a + v, 0) >= 3, `free PGD at ε = 0.3 flips ${Array.from(free.success)}`);
    // An attack that answers with those examples, on a pinned oracle: the re-check sees them clamped into the cells.
    const replay: Attack<GradientOracle> = {
      name: 'replay',
      kind: 'fixed-epsilon',
      oracleKind: 'gradient',
      norms: ['linf'],
      targeted: false,
      options: {},
      run: async () => ({ adversarial: free.clipped, success: Uint8Array.from(free.success), steps: 0 }),
    };
    const pinned = await runAttack(replay, adaptiveOracle(equipped, { objective, lambda: 1, pinned: cells }), x, criterion, { eps: 0.3, norm: 'linf' });
    assert.deepEqual(Array.from(pinned.success), [0, 0, 0, 0], 'the verdict is on the clamped point, not on the answer');
    assert.ok(pinned.warnings.some((w) => w.code === 'claimed-success-rejected'));
    const again = await runAttack(replay, adaptiveOracle(equipped, { objective, lambda: 1 }), x, criterion, { eps: 0.3, norm: 'linf' });
    assert.deepEqual(Array.from(again.success), Array.from(free.success));
  } finally {
    await equipped.dispose();
  }
});
