/**
 * The evaluation runner on the bundled MNIST CNN (issue 4's acceptance criteria, with small n):
 * AutoAttack-like `auto` at L∞ ε = 0.3 leaves ≤ 1% robust accuracy; APGD is at least as strong as
 * PGD-20 at ε = 0.1; a model with an input quantiser triggers masking warnings and the plain model
 * none; an evaluation aborted after k batches and resumed gives the numbers of an uninterrupted run;
 * the threat model's knowledge decides which attacks may run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GibbonError } from '../src/errors.js';
import { loadEvaluationData } from '../src/evaluation/data.js';
import { resolveEnsemble } from '../src/evaluation/presets.js';
import { evaluate, IN_PROCESS, type BatchExecutor, type EvaluationOptions } from '../src/evaluation/runner.js';
import { validateThreatModel, type ThreatModel } from '../src/evaluation/threat-model.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import type { Report } from '../src/report/index.js';
import { reportNumbers } from '../src/report/testing/report-numbers.js';
import { maskedModel } from './helpers/masked-model.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = join(ROOT, 'test', 'fixtures', 'reference', 'mnist_cnn', 'mnist_cnn.onnx');

function threatModel(fields: Record<string, unknown>): ThreatModel {
  return validateThreatModel({ knowledge: 'white-box', norm: 'linf', data: 'mnist-test', seed: 3, ...fields });
}

async function run(model: OnnxModel, tm: ThreatModel, attacks: string, extra: Partial<EvaluationOptions> = {}): Promise<Report> {
  const data = loadEvaluationData(tm, model);
  const result = await evaluate({
    model,
    white: model,
    modelPath: MODEL,
    threatModel: tm,
    data,
    ensemble: resolveEnsemble(attacks),
    batchSize: 64,
    threads: 2,
    ...extra,
  });
  return result.report;
}

let model: OnnxModel;
let work: string;

before(async () => {
  model = await OnnxModel.load(MODEL, { threads: 2, batchSize: 64 });
  work = mkdtempSync(join(tmpdir(), 'gibbon-eval-'));
});

after(async () => {
  await model.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('attack strength on the bundled model', () => {
  test('auto at L∞ ε = 0.3 leaves at most 1% robust accuracy (n = 100)', async () => {
    const report = await run(model, threatModel({ eps: [0.3], n: 100 }), 'auto', { checks: false });
    assert.ok(report.clean_accuracy >= 0.95, `clean ${report.clean_accuracy}`);
    assert.equal(report.robust_accuracy.length, 1);
    assert.ok(report.robust_accuracy[0]!.accuracy <= 0.01, `robust ${report.robust_accuracy[0]!.accuracy}`);
    assert.deepEqual(
      report.attacks.map((a) => a.name),
      ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
    );
    // The cascade: APGD-T only sees what APGD-CE left, so it costs (almost) nothing here.
    assert.ok(report.attacks[1]!.queries <= report.attacks[0]!.queries);
  });

  test('at ε = 0.1 APGD-CE is at least as strong as PGD-20 on the same examples', async () => {
    const tm = threatModel({ eps: [0.1], n: 100 });
    const apgd = await run(model, tm, 'apgd-ce', { checks: false });
    const pgd = await run(model, tm, 'fast', { checks: false });
    const a = apgd.robust_accuracy[0]!.accuracy;
    const p = pgd.robust_accuracy[0]!.accuracy;
    assert.ok(a <= p, `APGD-CE ${a} vs PGD-20 ${p}`);
    assert.ok(p < apgd.clean_accuracy, 'PGD-20 breaks some examples');
  });
});

describe('gradient-masking checks', () => {
  const tm = threatModel({ eps: [0.1, 0.3], n: 64 });

  test('the plain model triggers no masking warning', async () => {
    const report = await run(model, tm, 'fast');
    assert.ok(report.masking_checks.length >= 7);
    for (const c of report.masking_checks) assert.equal(c.passed, true, `${c.name}: ${c.detail}`);
    assert.deepEqual(report.model.non_differentiable_ops, []);
    // Ensemble rows hold the cascade's accuracy after the stage; check rows their accuracy alone.
    const at = (name: string, eps: number): number => report.attacks.find((a) => a.name === name && a.eps === eps)!.accuracy;
    assert.deepEqual(
      report.attacks.filter((a) => a.eps === 0.1).map((a) => a.name),
      ['pgd-20', 'fgsm (check)', 'noise (check)'],
    );
    assert.equal(at('pgd-20', 0.1), report.robust_accuracy[0]!.accuracy);
    assert.ok(at('fgsm (check)', 0.1) > at('pgd-20', 0.1), 'one FGSM step alone is weaker than PGD-20');
    assert.ok(at('noise (check)', 0.1) > at('fgsm (check)', 0.1), 'noise alone is weaker still');
  });

  test('a model with an input quantiser (Round) triggers masking warnings naming Round and BPDA', async () => {
    const masked = await OnnxModel.load(maskedModel(MODEL), { threads: 2, batchSize: 64 });
    try {
      const report = await run(masked, tm, 'fast');
      assert.ok(report.clean_accuracy >= 0.95, 'the quantiser keeps the model accurate');
      assert.deepEqual(
        report.model.non_differentiable_ops.map((o) => o.op_type),
        ['Round'],
      );
      const failed = new Set(report.masking_checks.filter((c) => !c.passed).map((c) => c.name));
      for (const name of ['zero-gradients', 'loss-not-increasing', 'noise-stronger-than-attack', 'unbounded-attack-not-reaching-zero']) {
        assert.ok(failed.has(name), `${name} should fail; failed: ${[...failed].join(', ')}`);
      }
      for (const c of report.masking_checks.filter((m) => !m.passed)) {
        assert.match(c.advice!, /Round 'quantise\//);
        assert.match(c.advice!, /--bpda/);
      }
      // Looks robust at ε = 0.3 …
      assert.ok(report.robust_accuracy[1]!.accuracy > 0.5, `masked robust ${report.robust_accuracy[1]!.accuracy}`);
    } finally {
      await masked.dispose();
    }
    // … but BPDA (straight-through gradients at Round) breaks it, and the checks pass again.
    const bpda = await OnnxModel.load(maskedModel(MODEL), { threads: 2, batchSize: 64, nonDifferentiable: 'identity' });
    try {
      const report = await run(bpda, tm, 'fast', { bpda: true });
      assert.ok(report.robust_accuracy[1]!.accuracy <= 0.05, `BPDA robust ${report.robust_accuracy[1]!.accuracy}`);
      for (const c of report.masking_checks) assert.equal(c.passed, true, `${c.name}: ${c.detail}`);
      assert.ok(report.warnings.some((w) => w.code === 'bpda'));
    } finally {
      await bpda.dispose();
    }
  });
});

describe('checkpoints and resume', () => {
  // 48 examples in 3 batches of 16.
  const tm = threatModel({ eps: [0.1, 0.3], n: 48 });
  const options = (out: string, extra: Partial<EvaluationOptions> = {}): EvaluationOptions => {
    const data = loadEvaluationData(tm, model);
    return { model, white: model, modelPath: MODEL, threatModel: tm, data, ensemble: resolveEnsemble('fast'), batchSize: 16, out, threads: 2, ...extra };
  };

  test('aborted after 2 batches and resumed: the numbers of an uninterrupted run, no batch repeated', async () => {
    const whole = await evaluate(options(join(work, 'whole')));
    assert.equal(whole.resumedBatches, 0);
    assert.ok(existsSync(join(work, 'whole', 'report.json')) && existsSync(join(work, 'whole', 'report.html')));

    const out = join(work, 'aborted');
    const controller = new AbortController();
    await assert.rejects(
      evaluate(
        options(out, {
          signal: controller.signal,
          onProgress: (p) => {
            if (p.batch === 2) controller.abort();
          },
        }),
      ),
      (e: unknown) => e instanceof Error && e.name === 'AbortError',
    );
    const checkpoint = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { records: { index: number }[]; finished: boolean };
    assert.deepEqual(
      checkpoint.records.map((r) => r.index),
      [0, 1],
    );
    assert.equal(checkpoint.finished, false);
    assert.equal(existsSync(join(out, 'report.json')), false);

    // Starting over in the same folder without --resume would throw the finished batches away.
    await assert.rejects(evaluate(options(out)), /holds an unfinished evaluation \(2 of 3 batches done\); resume it/);

    const computed: number[] = [];
    const resumed = await evaluate(
      options(out, {
        resume: true,
        onProgress: (p) => {
          if (!computed.includes(p.batch)) computed.push(p.batch);
        },
      }),
    );
    assert.equal(resumed.resumedBatches, 2);
    assert.deepEqual(computed, [2]);
    assert.deepEqual(reportNumbers(resumed.report), reportNumbers(whole.report));
    assert.ok(resumed.report.gallery.length > 0);

    // Resuming a finished evaluation recomputes nothing.
    const again = await evaluate(options(out, { resume: true, onProgress: () => assert.fail('no batch should run') }));
    assert.equal(again.resumedBatches, 3);
    assert.deepEqual(reportNumbers(again.report), reportNumbers(whole.report));
  });

  test("the report's run time is wall-clock, also when an executor's batches took more compute time than that", async () => {
    // As a sharded run: each batch's seconds are its units' compute time on several workers at once.
    const parallel: BatchExecutor = { run: (r) => IN_PROCESS.run({ ...r, done: (record) => r.done({ ...record, seconds: record.seconds + 1000 }) }) };
    const started = performance.now();
    const { report } = await evaluate(options(join(work, 'wall')), parallel);
    const wall = (performance.now() - started) / 1000;
    assert.ok(report.seconds > 0 && report.seconds <= wall, `report.seconds ${report.seconds} should be within the ${wall.toFixed(1)} s the run took`);
  });

  test('a checkpoint of a different evaluation is refused, naming what differs', async () => {
    const out = join(work, 'different');
    await evaluate(options(out));
    await assert.rejects(evaluate(options(out, { resume: true, batchSize: 24 })), (e: unknown) => {
      assert.ok(e instanceof GibbonError && e.code === 'invalid_checkpoint');
      assert.match(e.message, /belongs to a different evaluation \(it differs in: batch_size\)/);
      return true;
    });
    await assert.rejects(evaluate(options(out, { resume: true, ensemble: resolveEnsemble('fgsm') })), /differs in: attacks/);
  });
});

describe('the threat model decides the oracles', () => {
  test('black-box knowledge refuses gradient attacks; presets without a fitting attack fail clearly', async () => {
    const scores = threatModel({ knowledge: 'scores', eps: [0.1], n: 4 });
    await assert.rejects(run(model, scores, 'pgd'), (e: unknown) => {
      assert.ok(e instanceof GibbonError && e.location.option === 'attacks');
      assert.match(e.message, /attack 'pgd' needs gradients \(white-box\), but the threat model's knowledge 'scores' allows only scores/);
      return true;
    });
    await assert.rejects(run(model, scores, 'fast'), /the 'fast' ensemble has no attack that knowledge 'scores' allows/);
    await assert.rejects(run(model, threatModel({ norm: 'linf', eps: [0.1], n: 4 }), 'cw'), /supports the norms l2, not the threat model's linf/);
  });

  test('transfer: adversarial examples from the surrogate count only if they fool the target', async () => {
    const tm = threatModel({ knowledge: 'transfer', surrogate: MODEL, eps: [0.3], n: 32 });
    const report = await run(model, tm, 'fgsm', { surrogate: model });
    // The surrogate is the model itself, so transfer is perfect: FGSM's white-box numbers.
    const white = await run(model, threatModel({ eps: [0.3], n: 32 }), 'fgsm', { checks: false });
    assert.equal(report.robust_accuracy[0]!.accuracy, white.robust_accuracy[0]!.accuracy);
    assert.deepEqual(report.masking_checks, []);
    assert.ok(report.warnings.some((w) => /masking checks need white-box/.test(w.message)));
  });

  test('targeted threat models: least-likely targets are reached less often than any misclassification', async () => {
    const untargeted = await run(model, threatModel({ eps: [0.2], n: 32 }), 'fast', { checks: false });
    const targeted = await run(model, threatModel({ eps: [0.2], n: 32, targeted: { targets: 'least-likely' } }), 'fast', { checks: false });
    assert.ok(targeted.robust_accuracy[0]!.accuracy >= untargeted.robust_accuracy[0]!.accuracy);
    for (const g of targeted.gallery) assert.notEqual(g.adversarial_prediction, g.label);
  });
});
