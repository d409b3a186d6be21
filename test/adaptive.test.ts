/**
 * Adaptive evaluation (issue 6 acceptance), on the bundled models/mnist-standard.onnx:
 * - behind an input quantiser (Round(4x)/4, test/helpers/masked-model.ts) plain white-box PGD
 *   leaves almost every example robust, while BPDA PGD (straight-through, or a smooth surrogate
 *   for Round) and the score-based Square attack bring L∞ ε = 0.3 robust accuracy to ≤ 10%; the
 *   evaluation report flags masking ('black-box-stronger-than-white-box', naming Round) and draws
 *   Square's success rate versus queries;
The other knowledge settings (transfer, scores, decision) and EOT in the runner:
 * test/adaptive-knowledge.test.ts.
 * Measured numbers are in the assertion comments.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAttack } from '../src/attacks/attack.js';
import { createAttack } from '../src/attacks/registry.js';
import { loadEvaluationData, type EvaluationData } from '../src/evaluation/data.js';
import type { Ensemble } from '../src/evaluation/presets.js';
import { evaluate } from '../src/evaluation/runner.js';
import { validateThreatModel, type ThreatModel } from '../src/evaluation/threat-model.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { gradientOracle } from '../src/model/oracles.js';
import type { Report } from '../src/report/index.js';
import { maskedModel } from './helpers/masked-model.js';
import { ROOT } from './helpers/cli.js';
import { smoothRound } from './helpers/smooth-round.js';

const TARGET = join(ROOT, 'models', 'mnist-standard.onnx');
const N = 100;

function threatModel(fields: Record<string, unknown> = {}): ThreatModel {
  return validateThreatModel({ knowledge: 'white-box', norm: 'linf', eps: [0.3], data: 'mnist-test', n: N, seed: 0, ...fields });
}

function ensemble(...stages: [label: string, attack: string, options?: Record<string, unknown>][]): Ensemble {
  return {
    name: stages.map((s) => s[0]).join(','),
    preset: false,
    stages: stages.map(([label, attack, options]) => ({ label, attack, options: options ?? {} })),
  };
}

const PGD_20 = { steps: 20, relStepsize: 2.5 / 20 };
const accuracy = (success: Uint8Array): number => 1 - success.reduce((a, b) => a + b, 0) / success.length;

let work: string;
let data: EvaluationData;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'gibbon-adaptive-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('a model behind an input quantiser (Round), L∞ ε = 0.3, 100 MNIST test images', () => {
  let masked: OnnxModel;
  let report: Report;
  before(async () => {
    masked = await OnnxModel.load(maskedModel(TARGET), { threads: 2, batchSize: 100 });
    data = loadEvaluationData(threatModel(), masked);
    const result = await evaluate({
      model: masked,
      white: masked,
      modelPath: 'mnist-standard behind Round(4x)/4',
      threatModel: threatModel(),
      data,
      ensemble: ensemble(['pgd-20', 'pgd', PGD_20], ['square', 'square', { queries: 300 }]),
      batchSize: 100,
      out: join(work, 'masked'),
      threads: 2,
    });
    report = result.report;
  });
  after(async () => masked.dispose());

  test('white-box PGD leaves it robust; Square (300 queries) breaks it; the worst case is ≤ 10%', () => {
    const at = (name: string): number => report.attacks.find((a) => a.name === name)!.accuracy;
    // Measured: clean 99%, after PGD-20 99%, after Square 1% (Square alone: 1%).
    assert.ok(report.clean_accuracy >= 0.95, `clean ${report.clean_accuracy}`);
    assert.ok(at('pgd-20') >= 0.9, `after PGD-20 ${at('pgd-20')}`);
    assert.ok(at('square') <= 0.1, `after Square ${at('square')}`);
    assert.ok(report.robust_accuracy[0]!.accuracy <= 0.1, `worst case ${report.robust_accuracy[0]!.accuracy}`);
  });

  test("the report flags masking: 'black-box-stronger-than-white-box' fails and names Round", () => {
    assert.deepEqual([...new Set(report.model.non_differentiable_ops.map((o) => o.op_type))], ['Round']);
    const check = report.masking_checks.find((c) => c.name === 'black-box-stronger-than-white-box')!;
    assert.equal(check.passed, false);
    assert.match(check.detail, /ε=0\.3: (9\d|8\d) \(/);
    assert.match(check.detail, /non-differentiable ops on the gradient path: Round/);
    assert.match(check.advice!, /Round 'quantise\/.*--bpda/);
  });

  test("Square's queries per broken example are in report.json and drawn in report.html", () => {
    const square = report.attacks.find((a) => a.name === 'square')!;
    assert.equal(square.attacked, Math.round(report.attacks.find((a) => a.name === 'pgd-20')!.accuracy * N));
    const q = square.queries_to_success!;
    assert.ok(q.length >= 85 && q.every((v, i) => v >= 1 && v <= 300 && (i === 0 || v >= q[i - 1]!)), `queries ${q.join(',')}`);
    assert.equal(report.attacks.find((a) => a.name === 'pgd-20')!.queries_to_success, undefined);
    const html = readFileSync(join(work, 'masked', 'report.html'), 'utf8');
    assert.match(html, /<section id="queries"[\s\S]*success rate versus queries[\s\S]*<svg[^>]*aria-labelledby="query-chart-title"/);
  });

  test('BPDA: PGD-20 with straight-through gradients, or with a smooth surrogate for Round, breaks it (≤ 10%)', async () => {
    const pgd = createAttack('pgd', PGD_20);
    for (const nonDifferentiable of ['identity' as const, { surrogates: [{ opType: 'Round', model: smoothRound() }] }]) {
      const bpda = await OnnxModel.load(maskedModel(TARGET), { threads: 2, batchSize: 100, nonDifferentiable });
      try {
        const out = await runAttack(pgd, gradientOracle(bpda), data.x, data.labels, { eps: 0.3, norm: 'linf', seed: 1 });
        // Measured: 0% with either.
        assert.ok(accuracy(out.success) <= 0.1, `${typeof nonDifferentiable === 'string' ? 'identity' : 'surrogate'}: ${accuracy(out.success)}`);
      } finally {
        await bpda.dispose();
      }
    }
  });
});
