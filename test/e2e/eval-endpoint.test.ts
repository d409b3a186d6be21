/**
 * `gibbon eval --threat tm.yaml` where the threat model names an HTTP endpoint instead of a model
 * file: the built CLI against a local model server gives the numbers of the same evaluation of the
 * ONNX file, reports the endpoint's request counts, sends the token from the environment, and
 * refuses a model file next to an endpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxModel } from '../../src/model/onnx-model.js';
import type { Report } from '../../src/report/index.js';
import { assertFails, assertOk, ROOT, runCli } from '../helpers/cli.js';
import { startModelServer, type ModelServer } from '../helpers/model-server.js';

const MODEL = join(ROOT, 'test', 'fixtures', 'reference', 'mnist_mlp', 'mnist_mlp.onnx');
const TOKEN = 'e2e-token-7f3a';

let work: string;
let onnx: OnnxModel;
let server: ModelServer;

const THREAT = [
  'knowledge: scores',
  'norm: linf',
  'eps: [0.1, 0.3]',
  'input: { bounds: [0, 1], shape: [1, 28, 28] }',
  'query_budget: 40',
  'data: mnist-test',
  'n: 12',
];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'gibbon-eval-endpoint-'));
  onnx = await OnnxModel.load(MODEL, { threads: 1 });
  server = await startModelServer(onnx, { token: TOKEN });
  writeFileSync(join(work, 'file.yaml'), THREAT.join('\n'));
  const endpoint = ['endpoint:', `  url: ${server.url}`, '  auth: { env: GIBBON_E2E_TOKEN }', '  retries: 2', '  backoff_ms: 1'];
  writeFileSync(join(work, 'endpoint.yaml'), [...THREAT, ...endpoint].join('\n'));
  writeFileSync(
    join(work, 'white.yaml'),
    [...THREAT.filter((l) => !l.startsWith('knowledge') && !l.startsWith('query')), 'knowledge: white-box', ...endpoint].join('\n'),
  );
  process.env['GIBBON_E2E_TOKEN'] = TOKEN;
});
after(async () => {
  delete process.env['GIBBON_E2E_TOKEN'];
  await server.close();
  await onnx.dispose();
  rmSync(work, { recursive: true, force: true });
});

const report = (dir: string): Report => JSON.parse(readFileSync(join(work, dir, 'report.json'), 'utf8')) as Report;

test('an endpoint evaluates like its ONNX file: the same accuracies and query counts; requests are reported', async () => {
  server.faults = { failNext: 1, failStatus: 503 };
  const remote = await runCli(work, 'eval', '--threat', 'endpoint.yaml', '--attacks', 'square', '--out', 'remote');
  assertOk(remote);
  const local = await runCli(work, 'eval', MODEL, '--threat', 'file.yaml', '--attacks', 'square', '--out', 'local');
  assertOk(local);
  assert.match(remote.stdout, new RegExp(`gibbon eval ${server.url} \\(HTTP endpoint, 10 classes\\)`));
  assert.match(remote.stdout, /endpoint: \d+ requests, 1 retries, 0 failures/);
  const [r, l] = [report('remote'), report('local')];
  assert.equal(r.clean_accuracy, l.clean_accuracy);
  assert.deepEqual(r.robust_accuracy, l.robust_accuracy);
  assert.deepEqual(
    r.attacks.map((a) => [a.eps, a.accuracy, a.queries]),
    l.attacks.map((a) => [a.eps, a.accuracy, a.queries]),
  );
  assert.ok(
    r.attacks.some((a) => a.queries > 12),
    'Square queried the endpoint',
  );
  assert.ok(server.requests.every((q) => q.authorization === `Bearer ${TOKEN}`));
  assert.ok(!remote.stdout.includes(TOKEN) && !readFileSync(join(work, 'remote', 'report.json'), 'utf8').includes(TOKEN));
});

test('a model file next to an endpoint, and white-box knowledge with an endpoint, are refused naming the field', async () => {
  assertFails(
    await runCli(work, 'eval', MODEL, '--threat', 'endpoint.yaml', '--attacks', 'square', '--out', 'both'),
    /both MODEL .* and the threat model's endpoint/,
  );
  assertFails(await runCli(work, 'eval', '--threat', 'white.yaml', '--out', 'white'), /endpoint.*not gradients.*'white-box'/);
});
