/**
 * `gibbon certify --method smoothing` run as a user would, in a temporary folder, on a few MNIST
 * test images with small sample sizes: the JSON's numbers agree with each other and with the
 * statistics, a run killed with SIGKILL and resumed gives the records of an uninterrupted run, a
 * checkpoint made with other options is refused, and bad option combinations fail clearly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CertifiedAccuracyCurve, CertifiedExample } from '../../src/certify/result.js';
import { clopperPearsonLower, normalInverseCdf } from '../../src/certify/smoothing.js';
import { assertFails, assertOk, CLI, cliWorkspace, ROOT } from '../helpers/cli.js';

const MODEL = join(ROOT, 'models', 'mnist-standard.onnx');

const { work, gibbon } = cliWorkspace('gibbon-certify-cli-');

interface CertificationJson {
  curve: CertifiedAccuracyCurve;
  examples: CertifiedExample[];
  base_classifier_clean_accuracy: number;
  maximum_radius: number;
  data: { source: string; n: number };
}

const readJson = (dir: string): CertificationJson => JSON.parse(readFileSync(join(work, dir, 'certification.json'), 'utf8')) as CertificationJson;

describe('gibbon certify --method smoothing', () => {
  const small = ['--n', '4', '--n0', '20', '--samples', '300', '--alpha', '0.01', '--sigma', '0.25', '--batch-size', '150', '--threads', '1'];

  test('the JSON is consistent: records ↔ curve ↔ Clopper–Pearson radii; the HTML and the table show the threat model', async () => {
    const r = await gibbon('certify', MODEL, ...small, '--out', 'a');
    assertOk(r);
    const j = readJson('a');
    assert.equal(j.examples.length, 4);
    assert.equal(j.curve.n, 4);
    assert.equal(j.data.n, 4);
    assert.deepEqual(j.curve.parameters, { sigma: 0.25, n0: 20, samples: 300, alpha: 0.01, seed: 0 });
    for (const e of j.examples) {
      const d = e.details!;
      const pLower = clopperPearsonLower(d.count!, 300, 0.01);
      assert.ok(Math.abs(d.p_lower! - pLower) < 1e-12, `p_lower ${d.p_lower} vs ${pLower}`);
      if (pLower > 0.5) {
        assert.equal(e.prediction, d.guess);
        assert.ok(Math.abs(e.radius - 0.25 * normalInverseCdf(pLower)) < 1e-12, `radius ${e.radius}`);
      } else {
        assert.equal(e.prediction, 'abstain');
        assert.equal(e.radius, 0);
      }
      assert.equal(e.correct, e.prediction === e.label);
      assert.ok(e.radius <= j.maximum_radius + 1e-12);
    }
    assert.equal(j.curve.clean_accuracy, j.examples.filter((e) => e.correct).length / 4);
    assert.equal(j.curve.abstained, j.examples.filter((e) => e.prediction === 'abstain').length);
    const radii = j.curve.points.map((p) => p.radius);
    assert.deepEqual(
      radii,
      [...radii].sort((a, b) => a - b),
    );
    for (const want of [0, 0.25, 0.5, 0.75, 1]) assert.ok(radii.includes(want), `radius ${want} in the curve`);
    for (const p of j.curve.points) {
      assert.equal(p.certified_accuracy, j.examples.filter((e) => e.correct && e.radius >= p.radius).length / 4, `at ${p.radius}`);
    }
    // The bundled standard model is confident on these digits: all four certified at some radius.
    assert.equal(j.curve.points[0]!.certified_accuracy, 1);
    // σ·Φ⁻¹(0.01^(1/300)) = 0.25·Φ⁻¹(0.98477…) ≈ 0.541.
    assert.ok(Math.abs(j.maximum_radius - 0.25 * normalInverseCdf(0.01 ** (1 / 300))) < 1e-12);

    assert.match(r.stdout, /randomized smoothing \(L2\) · σ 0\.25 · n0 20 · n 300 · α 0\.01 · 4 examples/);
    assert.match(r.stdout, /^ {2}0\.50 +\d+\.\d%$/m);
    assert.match(r.stdout, /^ {2}1\.00 +0\.0%$/m);
    const page = readFileSync(join(work, 'a', 'certification.html'), 'utf8');
    assert.match(page, /<svg[^>]*role="img"/);
    assert.doesNotMatch(page, /<script/i);
    for (const text of [
      'L2',
      'σ (noise standard deviation)',
      '0.25',
      'n0 (selection samples)',
      'n (estimation samples)',
      '300',
      'α (failure probability)',
      '0.01',
      'abstained',
      'clean accuracy',
      'mnist-standard.onnx',
    ])
      assert.ok(page.includes(text), text);
  });

  test('a run killed with SIGKILL resumes with --resume and gives the records of an uninterrupted run', async (t) => {
    const args = ['--n', '5', '--n0', '20', '--samples', '1000', '--alpha', '0.001', '--batch-size', '500', '--threads', '1'];
    const whole = await gibbon('certify', MODEL, ...args, '--out', 'whole');
    assertOk(whole);

    mkdirSync(join(work, 'killed'));
    const checkpoint = join(work, 'killed', 'certification-checkpoint.json');
    const child = spawn(process.execPath, [CLI, 'certify', MODEL, ...args, '--out', 'killed'], { cwd: work, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const deadline = Date.now() + 30000;
    const recordsIn = (): number => (existsSync(checkpoint) ? (JSON.parse(readFileSync(checkpoint, 'utf8')) as { records: unknown[] }).records.length : 0);
    while (recordsIn() < 2 && child.exitCode === null && Date.now() < deadline) await sleep(20);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the run should still have been going when killed');
    const done = recordsIn();
    assert.ok(done >= 2 && done < 5, `${done} examples checkpointed at the kill`);
    t.diagnostic(`killed after ${done} checkpointed example(s)`);
    assert.ok(!existsSync(join(work, 'killed', 'certification.json')));

    const resumed = await gibbon('certify', MODEL, ...args, '--out', 'killed', '--resume');
    assertOk(resumed);
    assert.match(resumed.stderr, new RegExp(`resuming with ${done} done`));
    const a = readJson('whole');
    const b = readJson('killed');
    assert.deepEqual(b.examples, a.examples);
    assert.deepEqual(b.curve.points, a.curve.points);
    assert.equal(b.curve.clean_accuracy, a.curve.clean_accuracy);

    // The same checkpoint with other options is refused, naming what changed.
    const other = await gibbon('certify', MODEL, ...args.map((v) => (v === '1000' ? '1100' : v)), '--sigma', '0.5', '--out', 'killed', '--resume');
    assertFails(other, /certification-checkpoint\.json was made with different options \(samples: 1000 → 1100; sigma: 0\.25 → 0\.5\).*drop --resume/);
  });

  test('bad options and combinations fail with one clear line', async () => {
    assertFails(await gibbon('certify', MODEL, '--alpha', '1', '--out', 'bad'), /--alpha must be in \(0, 1\); got 1/);
    assertFails(await gibbon('certify', MODEL, '--method', 'ibp', '--sigma', '0.5', '--out', 'bad'), /--sigma applies to --method smoothing only/);
    assertFails(await gibbon('certify', MODEL, '--data', 'x.npy', '--out', 'bad'), /--data x\.npy needs --labels/);
    assertFails(await gibbon('certify', MODEL, '--labels', 'y.npy', '--out', 'bad'), /--labels goes with --data X\.npy/);
    assertFails(await gibbon('certify', join(work, 'missing.onnx'), '--out', 'bad'), /cannot read the model .*missing\.onnx/);
    assertFails(await gibbon('certify', MODEL, '--method', 'randomized'), /randomized/, 2);
    assertFails(await gibbon('certify', MODEL, '--samples', '0'), /samples/, 2);
  });
});
