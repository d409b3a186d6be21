import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { HttpModel } from '../model/remote/http-model.js';
import { writeNpy } from '../tensor/npy.js';
import { loadEvaluationData } from './data.js';
import {
  checkThreatModelFitsModel,
  DEFAULT_QUERY_BUDGET,
  loadThreatModel,
  parseThreatModel,
  readThreatModel,
  THREAT_MODEL_PRESETS,
  validateThreatModel,
  withOverrides,
} from './threat-model.js';

const VALID = { knowledge: 'white-box', norm: 'linf', eps: [0.3, 0.1], data: 'mnist-test', n: 10 };

/** Asserts a threat-model error whose message matches and whose location names `field`. */
function assertFieldError(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GibbonError, `not a GibbonError: ${String(e)}`);
    assert.equal(e.location.option, field, `option: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('presets validate and sort their budgets', () => {
  assert.deepEqual([...THREAT_MODEL_PRESETS.keys()], ['mnist-linf-0.3', 'mnist-linf-0.1', 'mnist-l2-2.0']);
  assert.deepEqual(THREAT_MODEL_PRESETS.get('mnist-linf-0.3')!.eps, [0.1, 0.2, 0.3]);
  assert.deepEqual(THREAT_MODEL_PRESETS.get('mnist-l2-2.0')!.eps, [0.5, 1, 1.5, 2]);
  const tm = validateThreatModel(VALID);
  assert.deepEqual(tm.eps, [0.1, 0.3]);
  assert.deepEqual(tm.input.bounds, [0, 1]);
  assert.equal(tm.targeted, false);
  assert.equal(tm.seed, 0);
  assert.ok(Object.isFrozen(tm) && Object.isFrozen(tm.eps));
});

test('black-box knowledge gets the default query budget; white-box refuses one', () => {
  assert.equal(validateThreatModel({ ...VALID, knowledge: 'scores' }).query_budget, DEFAULT_QUERY_BUDGET);
  assert.equal(validateThreatModel({ ...VALID, knowledge: 'decision', query_budget: 100 }).query_budget, 100);
  assertFieldError(() => validateThreatModel({ ...VALID, query_budget: 100 }), 'query_budget', /black-box knowledge/);
  assertFieldError(() => validateThreatModel({ ...VALID, knowledge: 'transfer' }), 'surrogate', /needs a surrogate/);
  assertFieldError(() => validateThreatModel({ ...VALID, surrogate: 's.onnx' }), 'surrogate', /only used with knowledge 'transfer'/);
});

test('errors name the field and say what is valid', () => {
  assertFieldError(
    () => validateThreatModel({ ...VALID, knowledge: 'grey-box' }),
    'knowledge',
    /knowledge must be one of white-box, scores, decision, transfer; got "grey-box"/,
  );
  assertFieldError(() => validateThreatModel({ ...VALID, eps: [0.1, -0.2] }), 'eps[1]', /eps\[1\] must be a finite number ≥ 0; got -0.2/);
  assertFieldError(() => validateThreatModel({ ...VALID, eps: [] }), 'eps', /eps must be a non-empty list/);
  assertFieldError(() => validateThreatModel({ ...VALID, norm: 'l1' }), 'norm', /one of linf, l2; got "l1"/);
  assertFieldError(() => validateThreatModel({ ...VALID, targeted: { targets: 'all' } }), 'targeted', /random \| least-likely/);
  assertFieldError(() => validateThreatModel({ ...VALID, input: { bounds: [1, 0] } }), 'input.bounds', /lower < upper, e.g. \[0, 1\]; got \[1,0\]/);
  assertFieldError(() => validateThreatModel({ ...VALID, input: { bounds: [0, 1], shape: [1, 0] } }), 'input.shape[1]', /positive integer; got 0/);
  assertFieldError(() => validateThreatModel({ ...VALID, seed: 1.5 }), 'seed', /integer from 0 to 4294967295/);
  assertFieldError(
    () => validateThreatModel({ knowledge: 'white-box', norm: 'linf', eps: [0.1] }),
    'data',
    /data is missing; it must be mnist-test, or \{ x: X.npy, labels: Y.npy \}/,
  );
  assertFieldError(() => validateThreatModel({ ...VALID, epsilon: [0.1] }), 'epsilon', /unknown field 'epsilon'; valid fields: .*eps/);
  assertFieldError(
    () => validateThreatModel({ ...VALID, input: { bounds: [0, 1], range: 2 } }),
    'input.range',
    /unknown field 'input.range'; valid fields of input: bounds, shape, preprocessing/,
  );
});

test('ε outside the input domain is refused, naming the entry', () => {
  assertFieldError(() => validateThreatModel({ ...VALID, eps: [0.1, 1.5] }), 'eps[1]', /outside the input domain.*valid: 0 ≤ ε ≤ 1/);
  assertFieldError(() => validateThreatModel({ ...VALID, eps: [10], input: { bounds: [-1, 1] } }), 'eps[0]', /valid: 0 ≤ ε ≤ 2/);
  const l2 = validateThreatModel({ ...VALID, norm: 'l2', eps: [2, 40] });
  const model = { inputShape: [null, 1, 28, 28], numClasses: 10 };
  assertFieldError(() => checkThreatModelFitsModel(l2, model, 'm.onnx'), 'eps[1]', /largest L2 distance .* is 28\.00/);
  checkThreatModelFitsModel(validateThreatModel({ ...VALID, norm: 'l2', eps: [2, 28] }), model, 'm.onnx');
});

test('input.shape must fit the model', () => {
  const tm = validateThreatModel({ ...VALID, input: { bounds: [0, 1], shape: [3, 32, 32] } });
  assertFieldError(
    () => checkThreatModelFitsModel(tm, { inputShape: [null, 1, 28, 28], numClasses: 10 }, 'm.onnx'),
    'input.shape',
    /\[3, 32, 32\] does not fit m.onnx, whose input is \[N, 1, 28, 28\]/,
  );
});

test('malformed files: YAML and JSON syntax errors say where', () => {
  assert.throws(
    () => parseThreatModel('knowledge: white-box\neps: [0.1, 0.2\nnorm: linf\n', 'tm.yaml'),
    (e: unknown) => {
      assert.ok(e instanceof GibbonError && e.code === 'invalid_threat_model');
      assert.match(e.message, /^threat model tm.yaml: is not valid YAML: .*\(line \d+, column \d+\)/);
      return true;
    },
  );
  assert.throws(() => parseThreatModel('{"knowledge": "white-box",}', 'tm.json', { json: true }), /tm.json: is not valid JSON/);
  assert.throws(() => parseThreatModel('', 'empty.yaml'), /empty.yaml: is empty; it must be a mapping/);
  assert.throws(() => parseThreatModel('- 1\n- 2\n', 'list.yaml'), /must be a mapping .*; got \[1,2\]/);
  assert.throws(() => parseThreatModel('norm: linf\nnorm: l2\n', 'dup.yaml'), /not valid YAML: .*[Mm]ap keys must be unique/);
});

test('files: presets by name, data paths relative to the file, overrides re-validated', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-tm-'));
  try {
    const path = join(dir, 'tm.yaml');
    writeFileSync(path, 'knowledge: white-box\nnorm: l2\neps: [1]\ndata: { x: x.npy, labels: y.npy }\ntargeted: { targets: least-likely }\n');
    const tm = readThreatModel(path);
    assert.deepEqual(tm.data, { x: join(dir, 'x.npy'), labels: join(dir, 'y.npy') });
    assert.deepEqual(tm.targeted, { targets: 'least-likely' });
    assert.equal(loadThreatModel('mnist-linf-0.1').name, 'mnist-linf-0.1');
    assert.throws(
      () => loadThreatModel('mnist-linf-0.5'),
      /neither a threat-model preset \(mnist-linf-0.3, mnist-linf-0.1, mnist-l2-2.0\) nor an existing file/,
    );
    assert.equal(withOverrides(tm, { n: 5, seed: 7 }).n, 5);
    assertFieldError(
      () => withOverrides(tm, { n: 0 }),
      'n',
      /^threat model command line: n must be a positive integer \(the first n examples, at most 1000000000\); got 0$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data whose shape does not fit the model is refused, naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-data-'));
  try {
    const x = join(dir, 'x.npy');
    const y = join(dir, 'y.npy');
    writeNpy(x, { type: 'float32', data: new Float32Array(4 * 784), shape: [4, 784] });
    writeNpy(y, { type: 'int64', data: new BigInt64Array(4), shape: [4] });
    const model = { inputShape: [null, 1, 28, 28], numClasses: 10 };
    const tm = validateThreatModel({ ...VALID, n: undefined, data: { x, labels: y } });
    assertFieldError(() => loadEvaluationData(tm, model), 'data.x', /has shape \[4, 784\] but the model input is \[N, 1, 28, 28\]/);
    assertFieldError(() => loadEvaluationData(tm, model, { x: '--data', labels: '--labels', n: '--n' }), '--data', /\(--data\)$/);
    // MNIST images do not fit a model of another input shape either.
    assertFieldError(
      () => loadEvaluationData(validateThreatModel(VALID), { inputShape: [null, 3, 32, 32], numClasses: 10 }),
      'data.x',
      /mnist-test .* \[N, 3, 32, 32\]/,
    );
    writeNpy(x, { type: 'float32', data: new Float32Array(4 * 784).fill(2), shape: [4, 1, 28, 28] });
    assertFieldError(() => loadEvaluationData(tm, model), 'data.x', /outside the threat model's input.bounds \[0, 1\]/);
    writeNpy(x, { type: 'float32', data: new Float32Array(4 * 784), shape: [4, 1, 28, 28] });
    assertFieldError(() => loadEvaluationData(withOverrides(tm, { n: 9 }), model), 'n', /n = 9 but .* holds 4 examples/);
    const ok = loadEvaluationData(withOverrides(tm, { n: 3 }), model);
    assert.deepEqual(ok.x.shape, [3, 1, 28, 28]);
    assert.equal(ok.labels.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const ENDPOINT_TM = { ...VALID, knowledge: 'scores', input: { bounds: [0, 1], shape: [1, 28, 28] }, endpoint: { url: 'http://127.0.0.1:8080/predict' } };

test('an endpoint section is read from YAML and opened by HttpModel as checked; absent fields are left to HttpModel', async () => {
  const tm = parseThreatModel(
    [
      'knowledge: decision',
      'norm: linf',
      'eps: [0.3]',
      'input: { bounds: [0, 1], shape: [1, 28, 28] }',
      'endpoint:',
      '  url: https://models.example.com/v1/mnist:predict',
      '  request: single',
      '  input_path: data.instances',
      '  output_path: predictions.*.label',
      '  outputs: label',
      '  num_classes: 10',
      '  headers: { x-model-version: "3" }',
      '  auth: { env: GIBBON_TOKEN, scheme: Bearer }',
      '  timeout_ms: 5000',
      '  retries: 2',
      '  rate_limit: 10',
      'data: mnist-test',
    ].join('\n'),
  );
  assert.equal(tm.endpoint?.outputs, 'label');
  assert.ok(Object.isFrozen(tm.endpoint));
  assert.deepEqual(tm.endpoint, {
    url: 'https://models.example.com/v1/mnist:predict',
    request: 'single',
    input_path: 'data.instances',
    output_path: 'predictions.*.label',
    outputs: 'label',
    num_classes: 10,
    headers: { 'x-model-version': '3' },
    auth: { env: 'GIBBON_TOKEN', scheme: 'Bearer' },
    timeout_ms: 5000,
    retries: 2,
    rate_limit: 10,
  });
  // The checked section is what HttpModel opens (a given num_classes: no request is sent).
  const model = await HttpModel.open(tm.endpoint!, { inputShape: [null, ...tm.input.shape!], env: { GIBBON_TOKEN: 't' } });
  assert.deepEqual(
    [model.url, model.numClasses, model.decisionOnly, model.inputShape],
    ['https://models.example.com/v1/mnist:predict', 10, true, [null, 1, 28, 28]],
  );
  assert.deepEqual(validateThreatModel(ENDPOINT_TM).endpoint, { url: 'http://127.0.0.1:8080/predict' });
  assert.deepEqual(withOverrides(validateThreatModel(ENDPOINT_TM), { n: 5 }).endpoint, ENDPOINT_TM.endpoint);
});

test('an endpoint must fit the knowledge and the input; errors name the endpoint field', () => {
  assertFieldError(() => validateThreatModel({ ...ENDPOINT_TM, knowledge: 'white-box' }), 'endpoint', /gives scores or decisions, not gradients.*'white-box'/);
  assertFieldError(
    () => validateThreatModel({ ...ENDPOINT_TM, endpoint: { ...ENDPOINT_TM.endpoint, outputs: 'label', num_classes: 10 } }),
    'endpoint.outputs',
    /labels only \(outputs: label\), which allows knowledge 'decision'.*not 'scores'/,
  );
  assertFieldError(
    () => validateThreatModel({ ...ENDPOINT_TM, knowledge: 'decision', endpoint: { ...ENDPOINT_TM.endpoint, outputs: 'label' } }),
    'endpoint.num_classes',
    /endpoint.num_classes is missing/,
  );
  assertFieldError(() => validateThreatModel({ ...ENDPOINT_TM, input: { bounds: [0, 1] } }), 'input.shape', /input.shape is missing; with an endpoint/);
  assertFieldError(
    () => validateThreatModel({ ...ENDPOINT_TM, endpoint: { url: 'https://me:secret@example.com/p' } }),
    'endpoint.url',
    /holds credentials.*endpoint.auth.env/,
  );
  assert.ok(validateThreatModel({ ...ENDPOINT_TM, knowledge: 'transfer', surrogate: 's.onnx' }).endpoint, 'transfer judges the endpoint’s decisions');
});

test('endpoint fields are checked one by one, naming the field and what is valid', () => {
  const endpoint = (fields: Record<string, unknown>): unknown => ({ ...ENDPOINT_TM, endpoint: { ...ENDPOINT_TM.endpoint, ...fields } });
  assertFieldError(
    () => validateThreatModel({ ...ENDPOINT_TM, endpoint: { url: 'ftp://x/y' } }),
    'endpoint.url',
    /an http:\/\/ or https:\/\/ URL, e.g. .*; got "ftp:\/\/x\/y"/,
  );
  assertFieldError(() => validateThreatModel({ ...ENDPOINT_TM, endpoint: {} }), 'endpoint.url', /endpoint.url is missing/);
  assertFieldError(() => validateThreatModel(endpoint({ request: 'stream' })), 'endpoint.request', /one of batch, single; got "stream"/);
  assertFieldError(() => validateThreatModel(endpoint({ outputs: 'scores' })), 'endpoint.outputs', /one of logits, probabilities, label/);
  assertFieldError(() => validateThreatModel(endpoint({ rate_limit: 0 })), 'endpoint.rate_limit', /requests per second/);
  assertFieldError(() => validateThreatModel(endpoint({ retries: -1 })), 'endpoint.retries', /an integer ≥ 0 \(at most 100\); got -1/);
  assertFieldError(() => validateThreatModel(endpoint({ headers: { 'x-key': 5 } })), 'endpoint.headers.x-key', /must be a text; got 5/);
  assertFieldError(() => validateThreatModel(endpoint({ auth: { env: 'MY TOKEN' } })), 'endpoint.auth.env', /name of an environment variable/);
  assertFieldError(
    () => validateThreatModel(endpoint({ auth: { env: 'T', token: 'x' } })),
    'endpoint.auth.token',
    /valid fields of endpoint.auth: env, scheme, header/,
  );
  assertFieldError(
    () => validateThreatModel(endpoint({ timeout: 5 })),
    'endpoint.timeout',
    /unknown field 'endpoint.timeout'; valid fields of endpoint: url, .*timeout_ms/,
  );
  assertFieldError(() => validateThreatModel(endpoint({ output_path: 'a..b' })), 'endpoint.output_path', /is not a path/);
  assertFieldError(() => validateThreatModel(endpoint({ input_path: 'instances.0' })), 'endpoint.input_path', /may only hold object keys/);
});

test('absurd values are refused naming the field: tiny and huge ε, huge bounds, budgets, n, seeds, endpoint timers', () => {
  const endpoint = { url: 'http://127.0.0.1:1/p' };
  const blackBox = { ...VALID, knowledge: 'scores', input: { bounds: [0, 1], shape: [1, 28, 28] } };
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ ...VALID, eps: [1e-300] }, 'eps[0]', /eps\[0\] = 1e-300 is below what float32 inputs in \[0, 1\] can resolve; valid: 0, or 1\.00e-7 ≤ ε ≤ 1/],
    [{ ...VALID, eps: [0.1, 1e300] }, 'eps[1]', /eps\[1\] = 1e\+300 is outside the input domain/],
    [{ ...VALID, norm: 'l2', eps: [1e-300] }, 'eps[0]', /below what float32 inputs/],
    [{ ...VALID, eps: Array.from({ length: 101 }, (_, i) => i / 1000) }, 'eps', /eps must be a non-empty list of budgets ≥ 0 \(at most 100\)/],
    [
      { ...VALID, input: { bounds: [-1e308, 1e308] } },
      'input.bounds[0]',
      /input\.bounds\[0\] must be a number from -1e\+30 to 1e\+30 \(inputs are float32\); got -1e\+308/,
    ],
    [{ ...VALID, input: { bounds: [0, 1e31] } }, 'input.bounds[1]', /input\.bounds\[1\] must be a number from/],
    [{ ...VALID, n: 1e15 }, 'n', /n must be a positive integer \(the first n examples, at most 1000000000\); got 1000000000000000/],
    [{ ...VALID, n: 0 }, 'n', /n must be a positive integer/],
    [{ ...VALID, seed: 1e300 }, 'seed', /seed must be an integer from 0 to 4294967295; got 1e\+300/],
    [{ ...VALID, seed: -1 }, 'seed', /seed must be an integer from 0 to 4294967295; got -1/],
    [
      { ...blackBox, query_budget: 1e300 },
      'query_budget',
      /query_budget must be a positive integer \(queries per example and attack; at most 100000000\); got 1e\+300/,
    ],
    [{ ...blackBox, query_budget: -5 }, 'query_budget', /query_budget must be a positive integer/],
    [
      { ...blackBox, endpoint: { ...endpoint, timeout_ms: 0 } },
      'endpoint.timeout_ms',
      /endpoint\.timeout_ms must be a positive integer \(milliseconds per request, body included; at most 86400000\); got 0/,
    ],
    [{ ...blackBox, endpoint: { ...endpoint, timeout_ms: 1e15 } }, 'endpoint.timeout_ms', /got 1000000000000000/],
    [{ ...blackBox, endpoint: { ...endpoint, timeout_ms: -10 } }, 'endpoint.timeout_ms', /got -10/],
    [
      { ...blackBox, endpoint: { ...endpoint, backoff_ms: 1e300 } },
      'endpoint.backoff_ms',
      /endpoint\.backoff_ms must be a number ≥ 0 \(milliseconds; at most 86400000\)/,
    ],
    [{ ...blackBox, endpoint: { ...endpoint, retries: 1e9 } }, 'endpoint.retries', /endpoint\.retries must be an integer ≥ 0 \(at most 100\); got 1000000000/],
    [{ ...blackBox, endpoint: { ...endpoint, concurrency: 1e9 } }, 'endpoint.concurrency', /at most 1024\); got 1000000000/],
    [
      { ...blackBox, endpoint: { ...endpoint, max_response_bytes: 0 } },
      'endpoint.max_response_bytes',
      /endpoint\.max_response_bytes must be a positive integer \(bytes of one answer; at most 268435456\); got 0/,
    ],
    [{ ...blackBox, endpoint: { ...endpoint, max_response_bytes: 2 ** 40 } }, 'endpoint.max_response_bytes', /at most 268435456\); got 1099511627776/],
  ];
  for (const [input, field, pattern] of cases) assertFieldError(() => validateThreatModel(input, 'tm.yaml'), field, pattern);
  // The limits are limits, not defaults: values at them are accepted.
  const ok = validateThreatModel({
    ...blackBox,
    eps: [1e-7, 1],
    n: 1e9,
    query_budget: 1e8,
    endpoint: { ...endpoint, timeout_ms: 86_400_000, max_response_bytes: 1024 },
  });
  assert.deepEqual([ok.eps, ok.n, ok.query_budget, ok.endpoint?.max_response_bytes], [[1e-7, 1], 1e9, 1e8, 1024]);
});

test('hostile files: a YAML alias bomb, deep nesting, a huge file and a device are refused with one clean error', () => {
  const laughs = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (const [i, c] of [...'bcdefghi'].entries()) laughs.push(`${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`);
  laughs.push('knowledge: white-box');
  const started = performance.now();
  assert.throws(
    () => parseThreatModel(laughs.join('\n'), 'bomb.yaml'),
    /threat model bomb.yaml: expands YAML aliases \(\*name\) more than 100 times, as a "billion laughs" file does/,
  );
  assert.ok(performance.now() - started < 2000);
  // A few aliases are fine.
  assert.deepEqual(parseThreatModel('knowledge: white-box\nnorm: linf\neps: [&e 0.1, *e, *e]\ndata: mnist-test\n', 'x').eps, [0.1]);
  const deep = `knowledge: white-box\nname: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
  assert.throws(() => parseThreatModel(deep, 'deep.yaml'), /threat model deep.yaml: nests lists or mappings (too deeply|more than 32 levels deep)/);
  const deepJson = `{"knowledge": "white-box", "endpoint": {"body": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
  assert.throws(() => parseThreatModel(deepJson, 'deep.json', { json: true }), /threat model deep.json: nests lists or mappings more than 32 levels deep/);
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-tm-'));
  try {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `knowledge: white-box\n#${'x'.repeat(2 * 1024 * 1024)}\n`);
    assert.throws(
      () => readThreatModel(big),
      (e: unknown) => e instanceof GibbonError && e.location.path === big && /is larger than 1 MiB \(\d+ bytes\)/.test(e.message),
    );
    assert.throws(() => readThreatModel('/dev/zero'), /\/dev\/zero is not a regular file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
