/**
 * `gibbon eval` as a user runs it (the built CLI in a child process, in a temporary folder): the
 * table and report, a run killed with SIGKILL and resumed with --resume giving the numbers of an
 * uninterrupted run, --fail-under's exit code, the JUnit file, masking warnings with advice, and
 * bad input: one line on stderr naming the field or option.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel } from '../../src/onnx/model.js';
import type { Report } from '../../src/report/index.js';
import { reportNumbers } from '../../src/report/testing/report-numbers.js';
import { writeNpy } from '../../src/tensor/npy.js';
import { maskedModel } from '../helpers/masked-model.js';
import { assertFails, assertOk, CLI, ROOT, runCli, type Run } from '../helpers/cli.js';

const MODEL = join(ROOT, 'test', 'fixtures', 'reference', 'mnist_cnn', 'mnist_cnn.onnx');

let work: string;

const gibbon = (...args: string[]): Promise<Run> => runCli(work, ...args);

function readReport(dir: string): Report {
  return JSON.parse(readFileSync(join(work, dir, 'report.json'), 'utf8')) as Report;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'gibbon-eval-cli-'));
  writeFileSync(join(work, 'two-eps.yaml'), 'knowledge: white-box\nnorm: linf\neps: [0.1, 0.3]\ndata: mnist-test\nseed: 5\n');
  writeFileSync(join(work, 'big-eps.yaml'), 'knowledge: white-box\nnorm: linf\neps: [0.1, 2]\ndata: mnist-test\n');
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('gibbon eval', () => {
  test('killed with SIGKILL midway and resumed: the numbers of an uninterrupted run', async () => {
    // 64 examples in 8 batches of 8.
    const args = ['eval', MODEL, '--threat', 'two-eps.yaml', '--n', '64', '--batch-size', '8', '--attacks', 'fast', '--threads', '2'];
    const whole = await gibbon(...args, '--out', 'whole');
    assertOk(whole);
    assert.match(whole.stdout, /worst case over attacks\s+\d+\.\d%\s+\d+\.\d%\s+\d+\.\d%/);
    assert.match(whole.stdout, /report: whole\/report.html/);

    const checkpoint = join(work, 'killed', 'checkpoint.json');
    const child = spawn(process.execPath, [CLI, ...args, '--out', 'killed'], { cwd: work, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let done = 0;
    while (child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 20));
      if (!existsSync(checkpoint)) continue;
      done = (JSON.parse(readFileSync(checkpoint, 'utf8')) as { records: unknown[] }).records.length;
      if (done >= 2) {
        child.kill('SIGKILL');
        break;
      }
    }
    assert.equal(await exited, 'SIGKILL', 'the run finished before it could be killed');
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { records: unknown[]; finished: boolean };
    assert.equal(saved.finished, false);
    assert.ok(saved.records.length >= 2 && saved.records.length < 8, `${saved.records.length} batches saved`);
    assert.equal(existsSync(join(work, 'killed', 'report.json')), false);

    assertFails(
      await gibbon(...args, '--out', 'killed'),
      /killed\/checkpoint.json holds an unfinished evaluation \(\d of 8 batches done\); resume it \(--resume\)/,
    );
    const resumed = await gibbon(...args, '--out', 'killed', '--resume');
    assertOk(resumed);
    assert.match(resumed.stdout, new RegExp(`resumed ${saved.records.length} finished batch\\(es\\)`));
    assert.deepEqual(reportNumbers(readReport('killed')), reportNumbers(readReport('whole')));
  });

  test('--fail-under exits with code 3 below the bar at the largest ε; --junit has one case per ε', async () => {
    const common = ['eval', '--threat', 'two-eps.yaml', '--n', '20', '--attacks', 'fast', '--out', 'gate'];
    const below = await gibbon(...common, '--fail-under', '50%', '--junit', 'results.xml');
    assertFails(below, /^✖ robust accuracy 0.0% at ε=0.3 \(the threat model's largest budget\) is below --fail-under 50.0%$/, 3);
    assert.match(below.stdout, /JUnit XML: results.xml/);
    const xml = readFileSync(join(work, 'results.xml'), 'utf8');
    assert.match(xml, /<testsuites name="gibbon" tests="2" failures="1"/);
    assert.match(xml, /<testcase classname="gibbon.eval.mnist-standard.onnx" name="robust accuracy at ε=0.1 \(linf\)" time="[\d.]+">\n\s*<system-out>/);
    assert.match(
      xml,
      /name="robust accuracy at ε=0.3 \(linf\)" time="[\d.]+">\n\s*<failure message="robust accuracy 0.00% is below 50.00%" type="BelowThreshold">/,
    );
    assert.match(xml, /after pgd-20: /);

    const passes = await gibbon(...common, '--fail-under', '0', '--junit', 'results.xml');
    assertOk(passes);
    assert.match(readFileSync(join(work, 'results.xml'), 'utf8'), /tests="2" failures="0"/);
    assertFails(await gibbon(...common, '--fail-under', '1.5'), /--fail-under.*fraction from 0 to 1/, 2);
  });

  test('a masked model: the failed checks are printed with advice', async () => {
    saveModel(maskedModel(MODEL), join(work, 'masked.onnx'));
    const r = await gibbon('eval', 'masked.onnx', '--threat', 'two-eps.yaml', '--n', '16', '--attacks', 'fast', '--out', 'masked');
    assertOk(r);
    assert.match(r.stdout, /gradient-masking checks: \d passed, [1-9] failed/);
    assert.match(r.stdout, /✖ zero-gradients: the input gradient was exactly zero for/);
    assert.match(r.stdout, /→ Non-differentiable ops on the gradient path \(Round 'quantise\/Round_node_\d+'\) .* rerun with --bpda/);
  });

  test('bad input: one line naming the field or option', async () => {
    writeFileSync(join(work, 'broken.yaml'), 'knowledge: white-box\nnorm: [linf\n');
    writeFileSync(join(work, 'typo.yaml'), 'knowledge: white-box\nnorm: linf\neps: [0.1]\ndata: mnist-test\nseeed: 1\n');
    writeNpy(join(work, 'flat.npy'), { type: 'float32', data: new Float32Array(4 * 784), shape: [4, 784] });
    writeNpy(join(work, 'y.npy'), { type: 'int64', data: new BigInt64Array(4), shape: [4] });
    const cases: [string[], RegExp, number?][] = [
      [['--attacks', 'pgd,boundary', '--n', '4'], /unknown attack 'boundary' in --attacks; valid: auto, fast, or a comma list of/],
      [['--threat', 'big-eps.yaml'], /^✖ threat model big-eps.yaml: eps\[1\] = 2 is outside the input domain.*valid: 0 ≤ ε ≤ 1$/],
      [
        ['--threat', 'mnist-linf-0.5'],
        /'mnist-linf-0.5' is neither a threat-model preset \(mnist-linf-0.3, mnist-linf-0.1, mnist-l2-2.0\) nor an existing file/,
      ],
      [['--threat', 'broken.yaml'], /^✖ threat model broken.yaml: is not valid YAML: .*\(line \d+, column \d+\)$/],
      [['--threat', 'typo.yaml'], /unknown field 'seeed'; valid fields: .*seed/],
      [['--data', 'flat.npy', '--labels', 'y.npy'], /flat.npy has shape \[4, 784\] but the model input is \[N, 1, 28, 28\] \(--data\)/],
      [['--data', 'flat.npy'], /--data flat.npy needs the true classes: add --labels Y.npy/, 2],
      [['--n', '20000'], /n = 20000 but mnist-test holds 10000 examples.*\(--n\)/],
    ];
    const runs = await Promise.all(cases.map(([args], i) => gibbon('eval', ...args, '--out', `bad-${i}`)));
    runs.forEach((r, i) => assertFails(r, cases[i]![1], cases[i]![2]));
  });
});
