import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadThreatModel } from './threat-model.js';
import type { BatchRecord } from './checkpoint.js';
import { StageCounters, type StageRecord } from './stage.js';
import { summarise, type SummaryContext } from './summary.js';
import { subset } from '../tensor/rows.js';

function stage(
  label: string,
  role: StageRecord['role'],
  oracle: StageRecord['oracle'],
  attacked: number,
  broken: number[],
  more: Partial<StageRecord> = {},
): StageRecord {
  return {
    label,
    attack: label,
    role,
    oracle,
    attacked,
    broken,
    norms: broken.map(() => 0.1),
    maxNorm: 0.1,
    queries: 10,
    steps: 5,
    seconds: 1,
    zeroGradient: 0,
    gradientMeasured: attacked,
    flatLoss: 0,
    lossMeasured: 0,
    warnings: [],
    ...more,
  };
}

function batch(index: number, predictions: number[], stages: StageRecord[]): BatchRecord {
  return { index, start: index * 4, end: index * 4 + 4, predictions, eps: [{ eps: 0.1, stages }], forwardDifference: 0, gallery: [], seconds: 2 };
}

// Examples 0…7 with labels 0…7; example 3 is misclassified. At ε = 0.1 the cascade PGD → Square
// breaks 0 and 5 (PGD), then 2 (Square, a black-box stage after a white-box one); the FGSM check
// alone breaks 0 and 1.
const records = [
  batch(
    0,
    [0, 1, 2, 9],
    [
      stage('pgd', 'ensemble', 'gradient', 3, [0], { zeroGradient: 1, maxNorm: 0.3 }),
      stage('square', 'ensemble', 'score', 2, [2], { brokenQueries: [70], queries: 100 }),
      stage('fgsm (check)', 'check', 'gradient', 3, [0, 1]),
    ],
  ),
  batch(
    1,
    [4, 5, 6, 7],
    [
      stage('pgd', 'ensemble', 'gradient', 4, [1], { seconds: 2.5, steps: 7, warnings: [{ code: 'w', severity: 'warning', message: 'slow' }] }),
      stage('square', 'ensemble', 'score', 3, [], { brokenQueries: [], queries: 300 }),
      stage('fgsm (check)', 'check', 'gradient', 4, []),
    ],
  ),
];

function context(checks: boolean): SummaryContext {
  return {
    threatModel: { ...loadThreatModel('mnist-linf-0.3'), eps: [0.1] },
    labels: Int32Array.from({ length: 8 }, (_, i) => i),
    data: 'test',
    iterativeLabels: new Set(['pgd']),
    checks,
    model: { path: 'm.onnx', sha256: 'abc', input_shape: [null, 1, 28, 28], num_classes: 10, outputs_probabilities: false, non_differentiable_ops: [] },
    bpda: false,
    bpdaSurrogates: [],
    eotSamples: 1,
    notes: ['a note'],
    gibbonVersion: 'test',
    created: '2026-01-01T00:00:00.000Z',
    environment: { node: 'v20', onnxruntime: 'x', platform: 'linux-x64', cpus: 2, threads: 2 },
  };
}

test('summarise: the cascade accumulates, a check run counts alone, the worst case is over every run, counters add up over batches', () => {
  const report = summarise(records, context(false));
  assert.equal(report.clean_accuracy, 7 / 8);
  // Worst case: 0, 1, 2 and 5 broken; 3 was never correct.
  assert.deepEqual(report.robust_accuracy, [{ eps: 0.1, accuracy: 3 / 8 }]);
  const rows = new Map(report.attacks.map((a) => [a.name, a]));
  assert.deepEqual([...rows.keys()], ['pgd', 'square', 'fgsm (check)']);
  assert.equal(rows.get('pgd')!.accuracy, 5 / 8);
  assert.equal(rows.get('square')!.accuracy, 4 / 8, 'after square: pgd’s and square’s breaks');
  assert.equal(rows.get('fgsm (check)')!.accuracy, 5 / 8, 'the check run alone');
  assert.deepEqual([rows.get('pgd')!.queries, rows.get('pgd')!.steps, rows.get('pgd')!.seconds], [20, 12, 3.5]);
  assert.deepEqual([rows.get('square')!.attacked, rows.get('square')!.queries_to_success], [5, [70]]);
  assert.equal(rows.get('pgd')!.queries_to_success, undefined);
  assert.equal(report.seconds, 4);
  assert.deepEqual(report.masking_checks, []);
  assert.deepEqual(report.warnings, [
    { code: 'w', message: 'pgd at ε=0.1: slow' },
    { code: 'note', message: 'a note' },
  ]);
});

test('summarise: with checks on, a black-box stage that beats the white-box ones fails its check', () => {
  const checks = new Map(summarise(records, context(true)).masking_checks.map((c) => [c.name, c]));
  const blackBox = checks.get('black-box-stronger-than-white-box')!;
  assert.equal(blackBox.passed, false);
  assert.match(blackBox.detail, /ε=0.1: 1 \(12.5%\)/);
});

test('StageCounters.add sums every count and keeps the largest norm', () => {
  const total = new StageCounters().add(records[0]!.eps[0]!.stages[0]!).add(records[1]!.eps[0]!.stages[0]!);
  assert.deepEqual(
    { ...total },
    {
      attacked: 7,
      maxNorm: 0.3,
      queries: 20,
      steps: 12,
      seconds: 3.5,
      zeroGradient: 1,
      gradientMeasured: 7,
      flatLoss: 0,
      lossMeasured: 0,
    },
  );
});

test('subset gathers inputs, labels and targets of the same examples, in the order asked', () => {
  const x = { data: Float32Array.from({ length: 8 }, (_, i) => i), shape: [4, 2] };
  const picked = subset({ x, labels: Int32Array.of(5, 6, 7, 8), targets: Int32Array.of(1, 2, 3, 4) }, [3, 1]);
  assert.deepEqual(Array.from(picked.x.data), [6, 7, 2, 3]);
  assert.deepEqual(picked.x.shape, [2, 2]);
  assert.deepEqual(Array.from(picked.labels), [8, 6]);
  assert.deepEqual(Array.from(picked.targets!), [4, 2]);
  assert.equal(subset({ x, labels: Int32Array.of(5, 6, 7, 8) }, [0]).targets, undefined);
});
