import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Criterion } from '../criteria/criterion.js';
import { GibbonError } from '../errors.js';
import { decisionOracle, gradientOracle, type DecisionOracle, type GradientOracle } from '../model/oracles.js';
import { diagonalModel } from '../model/testing/linear-model.js';
import type { NormName } from '../norms/norm.js';
import type { Tensor } from '../tensor/tensor.js';
import { runAttack, type Attack, type AttackContext, type AttackKind, type AttackResult } from './attack.js';
import { PgdAttack } from './pgd.js';

// Diagonal model: class 1 iff x₀ + x₁ > 1. Example 2 is misclassified from the start.
const x: Tensor = { data: Float32Array.from([0.1, 0.2, 0.45, 0.5, 0.9, 0.8, 0.6, 0.6]), shape: [4, 2] };
const labels = [0, 0, 0, 1];

/** A test attack: returns `answer(x)` and claims success everywhere; records what it was given. */
class FakeAttack implements Attack<GradientOracle> {
  readonly oracleKind = 'gradient' as const;
  readonly norms: readonly NormName[] = ['linf', 'l2'];
  readonly options = {};
  readonly seen: { n: number; eps: number; labels: number[] }[] = [];

  constructor(
    readonly name: string,
    readonly kind: AttackKind,
    private readonly answer: (x: Tensor) => Float32Array,
    readonly targeted = false,
  ) {}

  async run(_oracle: GradientOracle, xs: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> {
    this.seen.push({ n: xs.shape[0]!, eps: ctx.eps, labels: Array.from(criterion.labels) });
    return { adversarial: { data: this.answer(xs), shape: xs.shape }, success: new Uint8Array(xs.shape[0]!).fill(1), steps: 1 };
  }
}

test('the harness clips a lying attack into the budget and re-checks its claims', async () => {
  const liar = new FakeAttack('liar', 'fixed-epsilon', (xs) => xs.data.map((v) => v + 10));
  const out = await runAttack(liar, gradientOracle(diagonalModel()), x, labels, { eps: 0.05, norm: 'linf' });
  assert.deepEqual(Array.from(out.success), [0, 1, 1, 0]);
  for (let i = 0; i < 4; i++) assert.ok(out.norms[i]! <= 0.05);
  for (const v of out.clipped.data) assert.ok(v >= 0 && v <= 1);
  assert.equal(out.raw.data[0], Math.fround(10.1), 'raw is what the attack returned');
  assert.ok(out.warnings.some((w) => w.code === 'claimed-success-rejected' && /on 2 example/.test(w.message)));
});

test('examples already misclassified are not attacked and count as successes with zero perturbation', async () => {
  const idle = new FakeAttack('idle', 'fixed-epsilon', (xs) => Float32Array.from(xs.data));
  const out = await runAttack(idle, gradientOracle(diagonalModel()), x, labels, { eps: 0.1, norm: 'linf' });
  assert.deepEqual(idle.seen, [{ n: 3, eps: 0.1, labels: [0, 0, 1] }]);
  assert.deepEqual(Array.from(out.cleanSuccess), [0, 0, 1, 0]);
  assert.deepEqual(Array.from(out.success), [0, 0, 1, 0]);
  assert.deepEqual(Array.from(out.attacked), [0, 1, 3]);
  assert.equal(out.norms[2], 0);
});

test('several ε: a fixed-ε attack runs once per ε, a minimization attack once', async () => {
  const fixed = new FakeAttack('fixed', 'fixed-epsilon', (xs) => Float32Array.from(xs.data));
  const outs = await runAttack(fixed, gradientOracle(diagonalModel()), x, labels, { eps: [0.1, 0.2], norm: 'l2' });
  assert.deepEqual(
    fixed.seen.map((s) => s.eps),
    [0.1, 0.2],
  );
  assert.deepEqual(
    outs.map((o) => o.eps),
    [0.1, 0.2],
  );
  const towardsBoundary = new FakeAttack('min', 'minimization', (xs) => xs.data.map((v) => v + 0.3));
  const [small, large] = await runAttack(towardsBoundary, gradientOracle(diagonalModel()), x, labels, { eps: [0.01, 1], norm: 'linf' });
  assert.equal(towardsBoundary.seen.length, 1);
  assert.equal(towardsBoundary.seen[0]!.eps, 1);
  assert.deepEqual(Array.from(small!.success), [0, 0, 1, 0]);
  assert.deepEqual(Array.from(large!.success), [0, 1, 1, 0]);
  assert.ok(!small!.warnings.some((w) => w.code === 'claimed-success-rejected'), 'claims beyond ε are not held against a minimization attack');
});

test('NaN output counts as failure, with a warning', async () => {
  const broken = new FakeAttack('broken', 'fixed-epsilon', (xs) => new Float32Array(xs.data.length).fill(NaN));
  const out = await runAttack(broken, gradientOracle(diagonalModel()), x, labels, { eps: 0.5, norm: 'linf' });
  assert.deepEqual(Array.from(out.success), [0, 0, 1, 0]);
  assert.deepEqual(Array.from(out.clipped.data), Array.from(x.data));
  assert.ok(out.warnings.some((w) => w.code === 'non-finite-output'));
});

test('mismatches are refused with a clear error', async () => {
  const model = diagonalModel();
  const g = gradientOracle(model);
  const pgd = new PgdAttack({ steps: 2 });
  const code = (c: string) => (e: unknown) => e instanceof GibbonError && e.code === c;
  await assert.rejects(
    runAttack(pgd as unknown as Attack<DecisionOracle>, decisionOracle(model), x, labels, { eps: 0.1, norm: 'linf' }),
    /needs a gradient oracle but was given a decision oracle/,
  );
  const idle = new FakeAttack('idle', 'fixed-epsilon', (xs) => Float32Array.from(xs.data));
  await assert.rejects(runAttack(idle, g, x, labels, { eps: 0.1, norm: 'linf', targets: [1, 1, 1, 0] }), /'idle' is untargeted/);
  await assert.rejects(runAttack(pgd, g, x, labels, { eps: -0.1, norm: 'linf' }), code('invalid_option'));
  await assert.rejects(runAttack(pgd, g, x, labels, { eps: 0.1, norm: 'l1' as NormName }), /unknown norm 'l1'/);
  await assert.rejects(runAttack(pgd, g, x, [0, 0], { eps: 0.1, norm: 'linf' }), /labels has 2 entries but x has 4/);
  await assert.rejects(runAttack(pgd, g, { data: new Float32Array(6), shape: [2, 3] }, [0, 0], { eps: 0.1, norm: 'linf' }), /expects \[N, 2\]/);
  await assert.rejects(
    runAttack(pgd, g, { data: Float32Array.from([0, 1.5]), shape: [1, 2] }, [0], { eps: 0.1, norm: 'linf' }),
    /outside the input domain \[0, 1\]/,
  );
  await assert.rejects(runAttack(pgd, g, x, labels, { eps: 0.1, norm: 'linf', signal: AbortSignal.abort() }), { name: 'AbortError' });
});

test('PGD on the diagonal model: L2 and L∞ flip exactly the examples within reach', async () => {
  const g = gradientOracle(diagonalModel());
  // Distances to the boundary: L∞ 0.35, 0.025, –, 0.1; L2 0.49, 0.035, –, 0.14.
  const pgd = new PgdAttack({ steps: 20, relStepsize: 0.1 });
  const a = await runAttack(pgd, g, x, labels, { eps: 0.05, norm: 'linf', seed: 3 });
  assert.deepEqual(Array.from(a.success), [0, 1, 1, 0]);
  const b = await runAttack(pgd, g, x, labels, { eps: 0.2, norm: 'l2', seed: 3 });
  assert.deepEqual(Array.from(b.success), [0, 1, 1, 1]);
  assert.ok(b.queries > 0 && b.steps > 0);
});

/** A criterion of the caller's own: misclassified by a logit margin of at least 0.4 (diagonal model: x₀ + x₁ ≥ 1.2 for label 0). */
function confidentMisclassification(labels: ArrayLike<number>): Criterion {
  const ys = Int32Array.from(labels);
  return {
    name: 'confident-misclassification',
    labels: ys,
    targets: undefined,
    isAdversarial: (scores, i) => scores[1 - ys[i]!]! - scores[ys[i]!]! >= 0.4,
    subset: (indices) => confidentMisclassification(Array.from(indices, (k) => ys[k]!)),
  };
}

test('a Criterion in place of labels: the attack pursues it and the harness re-checks with it', async () => {
  const g = gradientOracle(diagonalModel());
  const pgd = new PgdAttack({ steps: 20, relStepsize: 0.1, randomStart: false });
  // Sums x₀ + x₁: 0.3, 0.95, 1.7, 1.2; within L∞ ε = 0.15 they move by at most 0.3.
  const plain = await runAttack(pgd, g, x, labels, { eps: 0.15, norm: 'linf' });
  const custom = await runAttack(pgd, g, x, confidentMisclassification(labels), { eps: 0.15, norm: 'linf' });
  assert.deepEqual(Array.from(plain.success), [0, 1, 1, 1]);
  assert.deepEqual(Array.from(custom.success), [0, 1, 1, 0], 'example 3 can cross the boundary but not by the margin');
  const sum = (t: Tensor, i: number) => t.data[2 * i]! + t.data[2 * i + 1]!;
  assert.ok(sum(plain.clipped, 1) < 1.2, `plain PGD stops just across the boundary (${sum(plain.clipped, 1)})`);
  assert.ok(sum(custom.clipped, 1) >= 1.2 - 1e-6, `PGD goes on until the criterion holds (${sum(custom.clipped, 1)})`);
  const liar = new FakeAttack('liar', 'fixed-epsilon', (xs) => xs.data.map((v) => v + 0.1));
  const judged = await runAttack(liar, g, x, confidentMisclassification(labels), { eps: 0.05, norm: 'linf' });
  assert.deepEqual(Array.from(judged.success), [0, 0, 1, 0], 'x₀ + x₁ = 1.05 is misclassified but not by the margin');
  assert.ok(judged.warnings.some((w) => w.code === 'claimed-success-rejected'));
  await assert.rejects(runAttack(pgd, g, x, confidentMisclassification(labels), { eps: 0.1, norm: 'linf', targets: [1, 1, 1, 0] }), /carries its own targets/);
  await assert.rejects(runAttack(pgd, g, x, confidentMisclassification([0, 0]), { eps: 0.1, norm: 'linf' }), /labels has 2 entries but x has 4/);
});
