import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskingChecks, type CheckEvidence, type EpsEvidence } from './checks.js';

/** Evidence of a healthy evaluation on 100 examples, 98 correct. */
function healthy(): { perEps: EpsEvidence[]; evidence: CheckEvidence } {
  const row = (eps: number, robust: number, fgsm: number): EpsEvidence => ({
    eps,
    robust,
    ensembleRobust: robust,
    iterativeRobust: robust,
    singleStepRobust: fgsm,
    noiseRobust: 97,
    loss: [{ label: 'pgd-20', flat: 0, measured: robust }],
    zeroGradient: 0,
    gradientMeasured: 200,
    maxNorm: eps,
  });
  const perEps = [row(0.1, 70, 80), row(0.2, 2, 35), row(0.3, 0, 5)];
  return {
    perEps,
    evidence: { n: 100, norm: 'linf', perEps, unbounded: { eps: 1, attacked: 98, robust: 0 }, forwardDifference: 0, nonDifferentiableOps: [], bpda: false },
  };
}

/** The checks that a masked model fails, in the order they are reported. */
const MASKING_SIGNS = [
  'iterative-weaker-than-single-step',
  'unbounded-attack-not-reaching-zero',
  'noise-stronger-than-attack',
  'loss-not-increasing',
  'zero-gradients',
  'accuracy-not-monotone-in-eps',
];

const byName = (evidence: CheckEvidence) => new Map(maskingChecks(evidence).map((c) => [c.name, c]));

test('a healthy evaluation passes every check, without advice', () => {
  const checks = maskingChecks(healthy().evidence);
  assert.deepEqual(
    checks.map((c) => c.name),
    [...MASKING_SIGNS, 'randomized-outputs', 'perturbation-outside-budget'],
  );
  for (const c of checks) {
    assert.equal(c.passed, true, `${c.name}: ${c.detail}`);
    assert.equal(c.advice, undefined);
  }
});

test('each sign of masking fails its check, with advice naming the non-differentiable ops', () => {
  const { perEps, evidence } = healthy();
  const masked: CheckEvidence = {
    ...evidence,
    perEps: [
      {
        ...perEps[0]!,
        robust: 90,
        ensembleRobust: 95,
        iterativeRobust: 95,
        singleStepRobust: 93,
        noiseRobust: 90,
        loss: [{ label: 'pgd-20', flat: 90, measured: 95 }],
        zeroGradient: 190,
        gradientMeasured: 200,
      },
      { ...perEps[1]!, robust: 92, ensembleRobust: 93 },
    ],
    unbounded: { eps: 1, attacked: 98, robust: 12 },
    nonDifferentiableOps: [{ node: 'quantise/Round', op_type: 'Round' }],
  };
  const checks = byName(masked);
  for (const name of MASKING_SIGNS) {
    const c = checks.get(name)!;
    assert.equal(c.passed, false, name);
    assert.match(c.advice!, /Round 'quantise\/Round'/);
    assert.match(c.advice!, /--bpda/);
    assert.match(c.advice!, new RegExp(`README.md#${name}\\)$`));
  }
  assert.match(checks.get('zero-gradients')!.detail, /190 of 400 \(47.5%\)/);
  assert.match(checks.get('accuracy-not-monotone-in-eps')!.detail, /ε=0.1 → 0.2: 90.0% → 92.0%/);
  assert.match(checks.get('unbounded-attack-not-reaching-zero')!.detail, /leaves 12.0% robust/);
  // With BPDA already on, the advice says so instead of suggesting it.
  assert.match(byName({ ...masked, bpda: true }).get('zero-gradients')!.advice!, /already pass gradients straight through/);
  // Without non-differentiable ops, zero gradients point at a saturated softmax.
  assert.match(byName({ ...masked, nonDifferentiableOps: [] }).get('zero-gradients')!.advice!, /softmax may saturate/);
});

test('thresholds: a few zero gradients or flat losses are tolerated; one example over 1% unbounded is not', () => {
  const { perEps, evidence } = healthy();
  const few: CheckEvidence = {
    ...evidence,
    perEps: [{ ...perEps[0]!, zeroGradient: 2, gradientMeasured: 200, loss: [{ label: 'pgd-20', flat: 7, measured: 70 }] }],
  };
  assert.equal(byName(few).get('zero-gradients')!.passed, true);
  assert.equal(byName(few).get('loss-not-increasing')!.passed, true);
  assert.equal(byName({ ...evidence, unbounded: { eps: 1, attacked: 98, robust: 1 } }).get('unbounded-attack-not-reaching-zero')!.passed, true);
  assert.equal(byName({ ...evidence, unbounded: { eps: 1, attacked: 98, robust: 2 } }).get('unbounded-attack-not-reaching-zero')!.passed, false);
});

test('black-box stronger than white-box: only when a black-box stage ran after a white-box one', () => {
  const { perEps, evidence } = healthy();
  assert.equal(byName(evidence).has('black-box-stronger-than-white-box'), false);
  const ran = (k: number): CheckEvidence => ({ ...evidence, perEps: perEps.map((e) => ({ ...e, blackBoxOnly: e.eps === 0.1 ? k : 0 })) });
  assert.equal(byName(ran(1)).get('black-box-stronger-than-white-box')!.passed, true);
  const failed = byName(ran(6)).get('black-box-stronger-than-white-box')!;
  assert.equal(failed.passed, false);
  assert.match(failed.detail, /ε=0.1: 6/);
  assert.match(failed.advice!, /EOT/);
  const masked = byName({ ...ran(6), nonDifferentiableOps: [{ node: 'q/Round', op_type: 'Round' }] }).get('black-box-stronger-than-white-box')!;
  assert.match(masked.detail, /non-differentiable ops on the gradient path: Round/);
  assert.match(masked.advice!, /Round 'q\/Round'.*--bpda/);
});

test('randomised outputs and perturbations outside the budget fail', () => {
  const { perEps, evidence } = healthy();
  assert.equal(byName({ ...evidence, forwardDifference: 0.3 }).get('randomized-outputs')!.passed, false);
  assert.equal(byName({ ...evidence, perEps: [{ ...perEps[0]!, maxNorm: 0.1000001 }] }).get('perturbation-outside-budget')!.passed, true);
  assert.equal(byName({ ...evidence, perEps: [{ ...perEps[0]!, maxNorm: 0.11 }] }).get('perturbation-outside-budget')!.passed, false);
});
