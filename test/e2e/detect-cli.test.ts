/**
 * `gibbon detect fit|eval` run as a user would, in a temporary folder: fitting an energy detector
 * on a small slice of MNIST, evaluating it (table, report.json, report.html with ROC curves and the
 * threat model first), and bad input: a detector fitted on another model, a features node that
 * does not exist, a detector kind that does not exist, an unknown action.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertFails, assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const STANDARD = join(ROOT, 'models', 'mnist-standard.onnx');
const ROBUST = join(ROOT, 'models', 'mnist-robust.onnx');

const { work, gibbon } = cliWorkspace('gibbon-detect-cli-');

test('detect fit writes a calibrated detector; detect eval reports plain and adaptive numbers', async () => {
  const fit = await gibbon(
    'detect',
    'fit',
    STANDARD,
    '--detector',
    'energy',
    '--fit-n',
    '500',
    '--calibration-n',
    '500',
    '--fpr',
    '10%',
    '--out',
    'energy.json',
    '--threads',
    '2',
  );
  assertOk(fit);
  assert.match(fit.stdout, /threshold .*: 10\.0% of the 500 held-out clean examples flagged \(target 10\.0%\)/);
  const file = JSON.parse(readFileSync(join(work, 'energy.json'), 'utf8'));
  assert.equal(file.format, 'gibbon-detector');
  assert.equal(file.detector.kind, 'energy');
  assert.equal(file.target_fpr, 0.1);
  assert.match(file.model.sha256, /^[0-9a-f]{64}$/);
  assert.match(file.calibration.data, /^mnist:train, seeded split \(seed 0\)/);

  const ev = await gibbon(
    'detect',
    'eval',
    STANDARD,
    '--detector',
    'energy.json',
    '--n',
    '100',
    '--attack-n',
    '20',
    '--steps',
    '10',
    '--lambdas',
    '1',
    '--out',
    'rep',
    '--threads',
    '2',
  );
  assertOk(ev);
  for (const row of ['OOD: fashion-mnist:test', 'OOD: uniform noise', 'FGSM ε=0.3 (plain)', 'PGD ε=0.3 (plain)', 'adaptive PGD ε=0.3'])
    assert.ok(ev.stdout.includes(row), `missing row ${row}`);
  const report = JSON.parse(readFileSync(join(work, 'rep', 'report.json'), 'utf8'));
  assert.equal(report.format, 'gibbon-detection-report');
  assert.equal(report.rows.length, 5);
  assert.equal(report.data.n, 100);
  assert.equal(report.data.attack_n, 20);
  const noise = report.rows.find((r: { name: string }) => r.name === 'OOD: uniform noise');
  assert.equal(noise.positives, 100);
  assert.ok(noise.auroc > 0.95, `noise AUROC ${noise.auroc}`);
  const plain = report.rows.find((r: { kind: string; name: string }) => r.kind === 'plain' && r.name.startsWith('PGD'));
  const adaptive = report.rows.find((r: { kind: string }) => r.kind === 'adaptive');
  assert.ok(adaptive.undetected_success_rate >= plain.undetected_success_rate, `${adaptive.undetected_success_rate} vs ${plain.undetected_success_rate}`);
  const html = readFileSync(join(work, 'rep', 'report.html'), 'utf8');
  assert.ok(html.indexOf('Threat model') < html.indexOf('Results'), 'the report opens with the threat model');
  assert.equal((html.match(/<svg/g) ?? []).length, 2, 'two ROC charts');
  assert.doesNotMatch(html, /<script/);
});

test('a detector fitted on another model is refused with one line naming the file', async () => {
  assertOk(await gibbon('detect', 'fit', STANDARD, '--detector', 'msp', '--calibration-n', '200', '--out', 'msp.json', '--threads', '2'));
  const r = await gibbon('detect', 'eval', ROBUST, '--detector', 'msp.json', '--n', '10', '--plain-only');
  assertFails(r, /detector msp\.json was fitted on another model \(.*mnist-standard\.onnx, sha256 [0-9a-f]{12}…\), not on .*mnist-robust\.onnx/);
});

test('a features node that is not in the model is named', async () => {
  const r = await gibbon('detect', 'fit', STANDARD, '--detector', 'mahalanobis', '--features', 'cnn/penultimate', '--out', 'm.json');
  assertFails(r, /features node 'cnn\/penultimate' not found in .*mnist-standard\.onnx.*'cnn\/fc1_node_15'/);
});

test('usage errors: unknown detector kind, unknown action (exit 2)', async () => {
  assertFails(
    await gibbon('detect', 'fit', STANDARD, '--detector', 'lid', '--out', 'x.json'),
    /--detector 'lid' is not a detector kind; valid: msp, energy, mahalanobis, squeeze, combined/,
    2,
  );
  assertFails(await gibbon('detect', 'check', STANDARD, '--detector', 'msp'), /unknown action 'check'; give 'fit' or 'eval'/, 2);
  assertFails(await gibbon('detect', 'eval', STANDARD, '--detector', 'missing.json'), /detector file not found: missing\.json/);
});
