/**
 * The guard's HTTP API on models/mnist-standard.onnx with a combined detector (SQLite queue):
 * predictions equal the model's own, in every body form (JSON single/batch/flat, .npy); verdicts
 * follow the policy (flag, refuse, hold for review); flagged rows are queued once however often a
 * request is retried; keys are checked (prediction and admin are separate); bad bodies get 4xx with
 * a message and the server stays up; the rate limit answers 429; gibbon's own HttpModel and Square
 * attack run through it; /metrics counts flags per detector.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAttack } from '../../src/attacks/registry.js';
import { runAttack } from '../../src/attacks/attack.js';
import { OnnxModel } from '../../src/model/onnx-model.js';
import { scoreOracle } from '../../src/model/oracles.js';
import { HttpModel } from '../../src/model/remote/http-model.js';
import { parsePolicy } from '../../src/server/policy.js';
import type { GuardService } from '../../src/server/guard-service.js';
import { formatNpy, parseNpy, writeNpy } from '../../src/tensor/npy.js';
import { runCli } from '../helpers/cli.js';
import { argmaxRows } from '../../src/tensor/tensor.js';
import { ADMIN_KEY, fitDetector, mnistTest, nested, scratch, startTestGuard, STANDARD } from '../helpers/guard.js';

const work = scratch('gibbon-guard-api-');
let guard: GuardService;
let held: GuardService;
const { x, y } = mnistTest(20);
const alice = { 'x-api-key': 'alice-key-0001' };
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const noise = (): number[][][] => [Array.from({ length: 28 }, (_, i) => Array.from({ length: 28 }, (_, j) => ((i * 7 + j * 13) % 10) / 10))];

before(async () => {
  const detector = await fitDetector(work);
  guard = await startTestGuard({
    detectors: [detector],
    db: `sqlite:${join(work, 'q.db')}`,
    policy: parsePolicy({ rate_limit: { per_second: 1000, burst: 1000 } }, 'test'),
  });
  held = await startTestGuard({
    detectors: [detector],
    db: `sqlite:${join(work, 'held.db')}`,
    policy: parsePolicy({ flag_action: 'hold-for-review', rate_limit: { per_second: 2, burst: 3 } }, 'test'),
  });
});

after(async () => {
  await guard?.close();
  await held?.close();
});

const predict = (g: GuardService, payload: unknown, headers: Record<string, string> = alice) =>
  g.server.inject({ method: 'POST', url: '/v1/predict', headers, payload: payload as string });

test('predictions equal the model run directly, for JSON (single, batch, flat) and .npy bodies', async () => {
  const model = await OnnxModel.load(STANDARD, { threads: 1 });
  const expected = argmaxRows(await model.logits(x));
  await model.dispose();
  const batch = await predict(guard, { inputs: Array.from({ length: 20 }, (_, r) => nested(x, r)) });
  assert.equal(batch.statusCode, 200, batch.body);
  const body = batch.json();
  assert.deepEqual(body.classes, Array.from(expected));
  assert.equal(body.outputs.length, 20);
  assert.equal(body.outputs[0].length, 10);
  assert.equal(body.detectors.combined.length, 20);
  // Clean test images: the detector was calibrated at 5% FPR, so most are ok.
  assert.ok(body.verdicts.filter((v: string) => v === 'ok').length >= 15, body.verdicts.join(','));
  const single = (await predict(guard, { inputs: nested(x, 3) })).json();
  assert.deepEqual(single.classes, [expected[3]]);
  const flat = (await predict(guard, { inputs: [Array.from(x.data.subarray(784 * 4, 784 * 5))] })).json();
  assert.deepEqual(flat.classes, [expected[4]]);
  const npy = await guard.server.inject({
    method: 'POST',
    url: '/v1/predict',
    headers: { ...alice, 'content-type': 'application/x-npy' },
    payload: Buffer.from(formatNpy({ type: 'float32', data: x.data, shape: x.shape })),
  });
  assert.deepEqual(npy.json().classes, Array.from(expected));
});

test('a flagged input is answered and queued once, however often the request is retried', async () => {
  const payload = { inputs: noise() };
  const first = (await predict(guard, payload)).json();
  assert.deepEqual(first.verdicts, ['flagged']);
  assert.deepEqual(first.reasons, [['combined']]);
  assert.equal(first.classes.length, 1);
  assert.equal(typeof first.classes[0], 'number');
  for (let i = 0; i < 3; i++) assert.equal((await predict(guard, payload)).json().review_ids[0], first.review_ids[0]);
  const list = (await guard.server.inject({ url: '/v1/review/items?status=pending', headers: admin })).json();
  assert.equal(list.items.filter((i: { id: string }) => i.id === first.review_ids[0]).length, 1);
  const item = (await guard.server.inject({ url: `/v1/review/items/${first.review_ids[0]}`, headers: admin })).json();
  assert.equal(item.client, 'alice');
  assert.equal(item.answer, first.classes[0]);
  assert.equal(item.input.length, 784);
  assert.ok(item.scores.combined > 2);
});

test('hold-for-review answers no class for a flagged input; the rate limit answers 429 with Retry-After', async () => {
  const r = (await predict(held, { inputs: noise() })).json();
  assert.deepEqual(r.verdicts, ['flagged']);
  assert.deepEqual(r.classes, [null]);
  assert.deepEqual(r.outputs, [null]);
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) codes.push((await predict(held, { inputs: nested(x, 0) })).statusCode);
  const limited = await predict(held, { inputs: nested(x, 0) });
  assert.equal(limited.statusCode, 429);
  assert.match(limited.json().error, /rate limit of 2 requests\/s/);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.ok(codes.includes(429));
  // Another key has its own bucket.
  assert.equal((await predict(held, { inputs: nested(x, 0) }, { 'x-api-key': 'bob-key-000002' })).statusCode, 200);
});

test('keys: prediction needs an API key; the review API needs the admin key, not an API key', async () => {
  assert.equal((await predict(guard, { inputs: nested(x, 0) }, {})).statusCode, 401);
  assert.equal((await predict(guard, { inputs: nested(x, 0) }, { 'x-api-key': 'wrong-key-0000' })).statusCode, 401);
  assert.equal((await predict(guard, { inputs: nested(x, 0) }, admin)).statusCode, 401);
  for (const url of ['/v1/review/items', '/review', '/v1/review/export/X.npy']) {
    const none = await guard.server.inject({ url });
    assert.equal(none.statusCode, 401, url);
    assert.match(String(none.headers['www-authenticate']), /^Basic/);
    assert.equal((await guard.server.inject({ url, headers: { authorization: 'Bearer alice-key-0001' } })).statusCode, 403, url);
    assert.equal((await guard.server.inject({ url, headers: { authorization: 'Bearer wrong' } })).statusCode, 403, url);
    const basic = `Basic ${Buffer.from(`any:${ADMIN_KEY}`).toString('base64')}`;
    assert.equal((await guard.server.inject({ url, headers: { authorization: basic } })).statusCode, 200, url);
  }
  const decide = await guard.server.inject({
    method: 'POST',
    url: '/v1/review/items/0123456789abcdef0123456789abcdef/decision',
    headers: alice,
    payload: { decision: 'benign' },
  });
  assert.equal(decide.statusCode, 401);
});

test('bad bodies get a 4xx with a message that names the problem, and the server stays up', async () => {
  const cases: [unknown, string | undefined, number, RegExp][] = [
    ['{"inputs": [1, 2', 'application/json', 400, /not valid JSON/],
    [{ input: nested(x, 0) }, undefined, 400, /no "inputs" field/],
    [{ inputs: [[[1, 2, 3]]] }, undefined, 400, /shape \[1, 1, 3\].*expected one example \[1, 28, 28\]/],
    [{ inputs: [[Array(28).fill(Array(28).fill(null))]] }, undefined, 400, /null \(NaN\?\), not a number/],
    ['{"inputs": ' + JSON.stringify(nested(x, 0)).replace('0', 'NaN') + '}', 'application/json', 400, /not valid JSON/],
    [{ inputs: [nested(x, 0)[0]!.map((row, i) => (i === 5 ? row.map(() => '0.5') : row))] }, undefined, 400, /inputs\[0\]\[5\]\[0\] is string, not a number/],
    [{ inputs: Array.from({ length: 300 }, () => Array(784).fill(0)) }, undefined, 413, /300 examples; at most 256/],
    ['['.repeat(100000) + ']'.repeat(100000), 'application/json', 400, /"inputs"|JSON/],
    [Buffer.alloc(5 * 1024 * 1024), 'application/octet-stream', 413, /too large/i],
    [Buffer.from('not an npy file'), 'application/octet-stream', 400, /not a \.npy file/],
    [Buffer.from(formatNpy({ type: 'float32', data: new Float32Array(10), shape: [10] })), 'application/x-npy', 400, /shape \[10\]/],
    [
      Buffer.from(formatNpy({ type: 'float32', data: new Float32Array(784).fill(NaN), shape: [1, 1, 28, 28] })),
      'application/x-npy',
      400,
      /NaN at flat index 0/,
    ],
    ['inputs=1', 'text/plain', 415, /content-type|Unsupported Media Type/i],
  ];
  for (const [payload, type, status, message] of cases) {
    const r = await guard.server.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: { ...alice, ...(type ? { 'content-type': type } : {}) },
      payload: payload as string,
    });
    assert.equal(r.statusCode, status, `${String(payload).slice(0, 40)} → ${r.body}`);
    assert.match(r.json().error, message);
  }
  assert.equal((await guard.server.inject({ url: '/healthz' })).statusCode, 200);
});

test("gibbon's HttpModel reads the guard's answers, and Square runs through it", async () => {
  const model = await HttpModel.connect({ url: `${guard.url}/v1/predict`, inputShape: [null, 1, 28, 28], headers: alice, numClasses: 10 });
  const oracle = scoreOracle(model, { queryBudget: 200 });
  const outcome = await runAttack(createAttack('square'), oracle, { data: x.data.slice(0, 784 * 2), shape: [2, 1, 28, 28] }, y.slice(0, 2), {
    eps: 0.3,
    norm: 'linf',
  });
  assert.ok(outcome.queries > 10);
  assert.ok(model.stats.requests > 10);
  assert.equal(model.stats.failures, 0);
});

test('gibbon eval with an endpoint threat model attacks the guarded model over HTTP', async () => {
  writeNpy(join(work, 'x.npy'), { type: 'float32', data: x.data.slice(0, 784 * 3), shape: [3, 1, 28, 28] });
  writeNpy(join(work, 'y.npy'), { type: 'int64', data: BigInt64Array.from(y.slice(0, 3), BigInt), shape: [3] });
  writeFileSync(
    join(work, 'tm.yaml'),
    [
      'knowledge: scores',
      'norm: linf',
      'eps: [0.3]',
      'input: { bounds: [0, 1], shape: [1, 28, 28] }',
      'query_budget: 100',
      'data: { x: x.npy, labels: y.npy }',
      'endpoint:',
      `  url: ${guard.url}/v1/predict`,
      "  auth: { env: GUARD_TEST_KEY, header: x-api-key, scheme: '' }",
      '',
    ].join('\n'),
  );
  process.env['GUARD_TEST_KEY'] = 'bob-key-000002';
  const r = await runCli(work, 'eval', '--threat', 'tm.yaml', '--attacks', 'square', '--out', 'rep');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /HTTP endpoint, 10 classes/);
  assert.match(r.stdout, /endpoint: \d+ requests, 0 retries, 0 failures/);
  const report = JSON.parse(readFileSync(join(work, 'rep', 'report.json'), 'utf8'));
  assert.equal(report.clean_accuracy, 1);
  assert.equal(report.robust_accuracy.length, 1);
  assert.doesNotMatch(readFileSync(join(work, 'rep', 'report.json'), 'utf8'), /bob-key-000002/, 'the key is not written into the report');
});

test('/metrics counts requests, verdicts and flags per detector', async () => {
  const text = (await guard.server.inject({ url: '/metrics' })).body;
  assert.match(text, /gibbon_guard_flags_total\{detector="combined"\} [1-9]/);
  assert.match(text, /gibbon_guard_examples_total\{verdict="ok"\} [1-9]/);
  assert.match(text, /gibbon_guard_request_duration_seconds_bucket\{le="0.015",route="\/v1\/predict"\} [1-9]/);
  assert.match(text, /gibbon_guard_review_queue_depth [1-9]/);
  assert.match(text, /gibbon_guard_detector_score_count\{detector="combined"\} [1-9]/);
  assert.match(text, /gibbon_guard_process_resident_memory_bytes \d+/);
});

test('decisions are recorded and exported as a training set (X.npy, Y.npy)', async () => {
  const flagged = (await predict(guard, { inputs: [noise(), noise().map((p) => p.map((r) => r.map((v) => 1 - v)))] })).json();
  const ids: string[] = flagged.review_ids.filter((id: string | null) => id !== null);
  assert.equal(ids.length, 2);
  const post = (id: string, body: unknown) =>
    guard.server.inject({ method: 'POST', url: `/v1/review/items/${id}/decision`, headers: admin, payload: body as string });
  assert.equal((await post(ids[0]!, { decision: 'attack', label: 7 })).statusCode, 200);
  assert.equal((await post(ids[1]!, { decision: 'benign' })).statusCode, 200);
  assert.match((await post(ids[1]!, { decision: 'maybe' })).json().error, /decision/);
  assert.match((await post(ids[1]!, { decision: 'attack', label: 10 })).json().error, /label/);
  assert.equal((await post('ffffffffffffffffffffffffffffffff', { decision: 'benign' })).statusCode, 404);
  const xs = parseNpy(new Uint8Array((await guard.server.inject({ url: '/v1/review/export/X.npy', headers: admin })).rawPayload));
  const ys = parseNpy(new Uint8Array((await guard.server.inject({ url: '/v1/review/export/Y.npy', headers: admin })).rawPayload));
  assert.deepEqual(xs.shape, [2, 1, 28, 28]);
  assert.deepEqual(Array.from(ys.data as BigInt64Array, Number), [7, flagged.classes[1]]);
  const metrics = (await guard.server.inject({ url: '/metrics' })).body;
  assert.match(metrics, /gibbon_guard_review_decisions_total\{decision="attack"\} 1/);
});
