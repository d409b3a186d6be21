/**
 * `gibbon defend` as a user runs it: it writes a defended model that `gibbon info` reads and
 * `gibbon eval` evaluates adaptively (`--bpda` against bit-depth reduction breaks what plain PGD
 * cannot; `--eot` runs on random resize-pad), and a bad SPEC fails with one line naming it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/onnx/model.js';
import type { Report } from '../../src/report/index.js';
import { assertFails, assertOk, ROOT, runCli, type Run } from '../helpers/cli.js';

let work: string;
const gibbon = (...args: string[]): Promise<Run> => runCli(work, ...args);
const readReport = (dir: string): Report => JSON.parse(readFileSync(join(work, dir, 'report.json'), 'utf8')) as Report;
const MODEL = join(ROOT, 'models', 'mnist-standard.onnx');

before(() => {
  work = mkdtempSync(join(tmpdir(), 'gibbon-defend-cli-'));
  writeFileSync(join(work, 'tm.yaml'), 'knowledge: white-box\nnorm: linf\neps: [0.3]\ndata: mnist-test\nn: 20\nseed: 1\n');
});
after(() => rmSync(work, { recursive: true, force: true }));

test('defend --preprocess bit-depth:4,median:2 writes a model; eval --bpda breaks it where plain PGD does not', async () => {
  const r = await gibbon('defend', MODEL, '--preprocess', 'bit-depth:4,median:2', '--out', 'squeezed.onnx');
  assertOk(r);
  assert.match(r.stdout, /squeezed\.onnx: .*mnist-standard\.onnx behind 2 preprocessing steps \(10 classes\)/);
  assert.match(r.stdout, /1\. bit-depth:4 .*\n  2\. median:2 /);
  assert.match(r.stdout, /evaluate adaptively: gibbon eval squeezed\.onnx --bpda\n?$/);
  assert.equal(loadModel(join(work, 'squeezed.onnx')).graph.nodes.filter((n) => n.opType === 'Round').length, 1);

  const args = ['eval', 'squeezed.onnx', '--threat', 'tm.yaml', '--attacks', 'fast', '--threads', '2'];
  const plain = await gibbon(...args, '--out', 'plain');
  assertOk(plain);
  const bpda = await gibbon(...args, '--bpda', '--out', 'bpda');
  assertOk(bpda);
  // Measured (20 images): plain PGD-20 95%, BPDA PGD-20 0%.
  const [p, b] = [readReport('plain').robust_accuracy[0]!.accuracy, readReport('bpda').robust_accuracy[0]!.accuracy];
  assert.ok(p >= 0.85, `plain ${p}`);
  assert.ok(b <= 0.1, `BPDA ${b}`);
  assert.deepEqual([...new Set(readReport('plain').model.non_differentiable_ops.map((o) => o.op_type))], ['Round']);
});

test('defend --preprocess resize-pad:0.8 writes a randomised model that eval --eot 2 evaluates', async () => {
  const r = await gibbon('defend', MODEL, '--preprocess', 'resize-pad:0.8', '--out', 'random.onnx');
  assertOk(r);
  assert.match(r.stdout, /draws new randomness on every run; average gradients over passes \(EOT\)/);
  assert.match(r.stdout, /gibbon eval random\.onnx --eot 10/);
  const e = await gibbon('eval', 'random.onnx', '--threat', 'tm.yaml', '--n', '10', '--attacks', 'fast', '--eot', '2', '--threads', '2', '--out', 'eot');
  assertOk(e);
  assert.match(e.stdout, /every gradient is the mean over 2 passes of the model \(EOT/);
  const report = readReport('eot');
  assert.ok(report.robust_accuracy[0]!.accuracy <= report.clean_accuracy);
});

test('a bad SPEC fails with one line naming it and nothing is written', async () => {
  assertFails(
    await gibbon('defend', MODEL, '--preprocess', 'bit-depth:4,medain:2', '--out', 'bad.onnx'),
    /--preprocess 'bit-depth:4,medain:2': unknown step 'medain' in 'medain:2'; give a comma list of bit-depth:BITS, median:SIZE, quantize:LEVELS, resize-pad:MIN_SCALE/,
  );
  assertFails(
    await gibbon('defend', MODEL, '--preprocess', 'quantize:300', '--out', 'bad.onnx'),
    /quantisation levels must be an integer from 2 to 256; got 300/,
  );
  assertFails(await gibbon('defend', MODEL, '--out', 'bad.onnx'), /required option '--preprocess <spec>' not specified/, 2);
  assert.equal(existsSync(join(work, 'bad.onnx')), false);
});
