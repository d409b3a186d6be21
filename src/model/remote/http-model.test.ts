import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startModelServer, type ModelServer } from '../../../test/helpers/model-server.js';
import { runAttack } from '../../attacks/attack.js';
import { createAttack } from '../../attacks/registry.js';
import { referenceInputs, referenceModelPath } from '../../attacks/testing/reference-data.js';
import { GibbonError } from '../../errors.js';
import { sliceBatch } from '../../tensor/tensor.js';
import { OnnxModel } from '../onnx-model.js';
import { decisionOracle, scoreOracle } from '../oracles.js';
import { deeplyNested, startHostileServer, stream, type HostileServer } from '../../../test/helpers/hostile-http.js';
import { EndpointError, HttpModel, MAX_REDIRECTS, redactUrl, type HttpModelOptions } from './http-model.js';

const { x, y } = referenceInputs(8);
const SHAPE = [null, 1, 28, 28];
let onnx: OnnxModel;
let server: ModelServer;

before(async () => {
  onnx = await OnnxModel.load(referenceModelPath('mnist_mlp'), { threads: 1 });
  server = await startModelServer(onnx);
});
after(async () => {
  await server.close();
  await onnx.dispose();
});

function connect(options: Partial<HttpModelOptions> = {}, on: ModelServer = server): Promise<HttpModel> {
  return HttpModel.connect({ url: on.url, inputShape: SHAPE, backoffMs: 1, ...options });
}

/** Asserts an EndpointError of `problem` whose message matches. */
function endpointError(problem: EndpointError['problem'], pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof EndpointError, `not an EndpointError: ${String(e)}`);
    assert.equal(e.problem, problem, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('HttpModel answers like the model behind it', () => {
  test('batch mode: one request, the same logits as OnnxModel, bit for bit; the class count is asked once', async () => {
    const model = await connect();
    assert.equal(model.numClasses, 10);
    assert.deepEqual(model.stats, { requests: 1, retries: 0, failures: 0 }, 'the probe');
    const expected = await onnx.logits(x);
    const got = await model.logits(x);
    assert.deepEqual(got.shape, [8, 10]);
    assert.deepEqual(Array.from(got.data), Array.from(expected.data));
    assert.equal(model.stats.requests, 2);
    const small = await connect({ numClasses: 10, maxBatch: 3 });
    assert.deepEqual(Array.from((await small.logits(x)).data), Array.from(expected.data));
    assert.deepEqual(small.stats, { requests: 3, retries: 0, failures: 0 }, '8 examples at most 3 per request');
  });

  test('single mode: one request per example, the same logits as OnnxModel on each example', async () => {
    const before = server.requests.length;
    const model = await connect({ request: 'single', numClasses: 10, concurrency: 3 });
    const got = await model.logits(x);
    assert.equal(server.requests.length - before, 8);
    assert.ok(server.requests.slice(before).every((r) => r.examples === 1));
    assert.ok(maxDifference(got.data, (await onnx.logits(x)).data) < 1e-5);
    for (let i = 0; i < 8; i++) {
      const one = await onnx.logits(sliceBatch(x, i, i + 1));
      assert.deepEqual(Array.from(got.data.subarray(i * 10, (i + 1) * 10)), Array.from(one.data));
    }
  });

  test('a dotted output path with * reads { predictions: [{ scores }] }', async () => {
    const styled = await startModelServer(onnx, { style: 'predictions' });
    try {
      const model = await connect({ outputPath: 'predictions.*.scores' }, styled);
      assert.deepEqual(Array.from((await model.logits(x)).data), Array.from((await onnx.logits(x)).data));
      const first = await connect({ outputPath: 'predictions[0].scores', request: 'single' }, styled);
      assert.ok(maxDifference((await first.logits(x)).data, (await onnx.logits(x)).data) < 1e-5);
    } finally {
      await styled.close();
    }
  });

  test("outputs 'probabilities': a score oracle reports the endpoint's probabilities; logits would be refused", async () => {
    const probs = await startModelServer(onnx, { outputs: 'probabilities' });
    try {
      const model = await connect({ outputs: 'probabilities' }, probs);
      const { probabilities } = await scoreOracle(model).scores(x);
      const { probabilities: expected } = await scoreOracle(onnx).scores(x);
      assert.ok(maxDifference(probabilities.data, expected.data) < 1e-6);
      const wrong = await connect({ outputs: 'probabilities', numClasses: 10 });
      await assert.rejects(wrong.logits(x), endpointError('bad_scores', /probabilities of row 0 sum to|is not a probability.*outputs: logits/));
    } finally {
      await probs.close();
    }
  });

  test("outputs 'label': decision-only, one-hot logits, the same predictions; numClasses is required", async () => {
    const labels = await startModelServer(onnx, { outputs: 'label' });
    try {
      const model = await connect({ outputs: 'label', numClasses: 10 }, labels);
      assert.equal(model.decisionOnly, true);
      assert.deepEqual(Array.from(await decisionOracle(model).predict(x)), Array.from(await onnx.predict(x)));
      const single = await connect({ outputs: 'label', numClasses: 10, request: 'single' }, labels);
      assert.deepEqual(Array.from(await decisionOracle(single).predict(x)), Array.from(await onnx.predict(x)));
      const logits = await model.logits(x);
      assert.equal(
        logits.data.reduce((a, b) => a + b, 0),
        8,
      );
      await assert.rejects(connect({ outputs: 'label' }, labels), (e: unknown) => e instanceof GibbonError && e.location.option === 'numClasses');
      assert.equal((await connect()).decisionOnly, false);
    } finally {
      await labels.close();
    }
  });
});

describe('attacks over HTTP', () => {
  test('Square over the endpoint equals Square over the ONNX score oracle with the same seed', async () => {
    const model = await connect({ numClasses: 10 });
    const attack = createAttack('square', { queries: 40 });
    const options = { eps: 0.3, norm: 'linf' as const, seed: 7 };
    const local = await runAttack(attack, scoreOracle(onnx, { queryBudget: 40 }), x, y, options);
    const remote = await runAttack(attack, scoreOracle(model, { queryBudget: 40 }), x, y, options);
    assert.deepEqual(Array.from(remote.success), Array.from(local.success));
    assert.deepEqual(Array.from(remote.clipped.data), Array.from(local.clipped.data));
    assert.equal(remote.queries, local.queries);
    assert.ok(remote.queries > 8, `queries ${remote.queries}`);
    assert.equal(model.stats.failures, 0);
  });

  test('HopSkipJump over a label-only endpoint equals HopSkipJump over the ONNX decision oracle', async () => {
    const labels = await startModelServer(onnx, { outputs: 'label' });
    try {
      // Batches as large as the oracle's calls, so the server runs exactly the rows the local model runs.
      const model = await connect({ outputs: 'label', numClasses: 10, maxBatch: 1024 }, labels);
      const attack = createAttack('hsj', { steps: 2, initialEvals: 20, queries: 200 });
      const xs = sliceBatch(x, 0, 2);
      const ys = y.subarray(0, 2);
      const options = { eps: 0.3, norm: 'linf' as const, seed: 3 };
      const local = await runAttack(attack, decisionOracle(onnx, { queryBudget: 200 }), xs, ys, options);
      const remote = await runAttack(attack, decisionOracle(model, { queryBudget: 200 }), xs, ys, options);
      assert.deepEqual(Array.from(remote.clipped.data), Array.from(local.clipped.data));
      assert.equal(remote.queries, local.queries);
    } finally {
      await labels.close();
    }
  });

  test('a query beyond the oracle budget is refused before any request', async () => {
    const model = await connect({ numClasses: 10 });
    const oracle = scoreOracle(model, { queryBudget: 2 });
    await oracle.scores(x);
    await oracle.scores(x);
    const sent = model.stats.requests;
    await assert.rejects(oracle.scores(x), (e: unknown) => e instanceof GibbonError && e.code === 'budget_exhausted');
    assert.equal(model.stats.requests, sent);
  });
});

describe('failures: retried when transient, reported, never taken for an answer', () => {
  test('HTTP 503 and 500 are retried with backoff and counted', async () => {
    const model = await connect({ numClasses: 10, retries: 3 });
    server.faults = { failNext: 2, failStatus: 503 };
    assert.deepEqual(Array.from((await model.logits(x)).data), Array.from((await onnx.logits(x)).data));
    assert.deepEqual(model.stats, { requests: 3, retries: 2, failures: 0 });
    server.faults = { failNext: 1, failStatus: 500 };
    await model.logits(x);
    assert.deepEqual(model.stats, { requests: 5, retries: 3, failures: 0 });
    server.faults = {};
  });

  test('after the last retry the error surfaces through the attack: no result, nothing counted as broken', async () => {
    const model = await connect({ numClasses: 10, retries: 2 });
    server.faults = { failNext: 1000, failStatus: 503 };
    try {
      await assert.rejects(
        runAttack(createAttack('square', { queries: 20 }), scoreOracle(model), x, y, { eps: 0.3, norm: 'linf', seed: 0 }),
        endpointError('http_status', /^endpoint http:\/\/127\.0\.0\.1:\d+\/predict: failed after 3 attempts \(2 retries\): HTTP 503/),
      );
      assert.deepEqual(model.stats, { requests: 3, retries: 2, failures: 1 });
    } finally {
      server.faults = {};
    }
  });

  test('a slow answer times out and is retried; one that stays slow fails naming the timeout', async () => {
    const model = await connect({ numClasses: 10, retries: 1, timeoutMs: 150 });
    server.faults = { delayMs: 400, delayNext: 1 };
    await model.logits(x);
    assert.deepEqual(model.stats, { requests: 2, retries: 1, failures: 0 });
    server.faults = { delayMs: 400 };
    try {
      await assert.rejects(model.logits(x), endpointError('timeout', /timed out after 2 attempts \(1 retry\): no complete answer within 150 ms/));
      assert.equal(model.stats.failures, 1);
    } finally {
      server.faults = {};
    }
  });

  test('HTTP 429 waits as long as Retry-After says', async () => {
    const model = await connect({ numClasses: 10, retries: 1 });
    server.faults = { failNext: 1, failStatus: 429, retryAfter: 1 };
    const started = performance.now();
    await model.logits(x);
    const waited = performance.now() - started;
    assert.ok(waited >= 950, `waited ${waited.toFixed(0)} ms`);
    assert.equal(model.stats.retries, 1);
    server.faults = {};
  });

  test('an unreachable endpoint (a closed port) fails after its retries, naming the URL and the cause', async () => {
    const closed = await startModelServer(onnx);
    await closed.close();
    await assert.rejects(
      HttpModel.connect({ url: closed.url, inputShape: SHAPE, retries: 1, backoffMs: 1 }),
      endpointError(
        'unreachable',
        new RegExp(`^endpoint ${closed.url.replace(/[./]/g, '\\$&')}: unreachable after 2 attempts \\(1 retry\\): cannot connect \\(ECONNREFUSED\\)`),
      ),
    );
  });

  test('malformed answers are not retried: a missing field, NaN, not JSON, the wrong number of scores', async () => {
    const model = await connect({ numClasses: 10 });
    const cases: [object, EndpointError['problem'], RegExp][] = [
      [
        { dropField: true },
        'missing_field',
        /the response has nothing at output path 'outputs': no 'outputs' at the top level, which is an object with keys result, model/,
      ],
      [{ nan: true }, 'bad_scores', /at output path 'outputs': score \[0\]\[0\] is NaN/],
      [{ notJson: true }, 'not_json', /the response is not JSON \(HTTP 200, text\/html\): "<html><body>Bad Gateway/],
      [{ wrongClasses: true }, 'bad_scores', /row 0 has 9 scores; expected 10 \(the number of classes\)/],
    ];
    for (const [faults, problem, pattern] of cases) {
      server.faults = faults;
      const before = model.stats;
      await assert.rejects(model.logits(x), endpointError(problem, pattern));
      assert.deepEqual(model.stats, { requests: before.requests + 1, retries: before.retries, failures: before.failures + 1 }, JSON.stringify(faults));
    }
    server.faults = {};
    const nested = await connect({ numClasses: 10, outputPath: 'outputs.0.scores' });
    await assert.rejects(nested.logits(x), endpointError('missing_field', /no 'scores' under 'outputs\.0', which is an array of 10/));
  });
});

describe('auth, rate limit, URLs', () => {
  test('the token comes from the environment variable and is sent; a missing variable is named; 401 is not retried', async () => {
    const guarded = await startModelServer(onnx, { token: 'tok-secret-42' });
    try {
      const model = await connect({ auth: { env: 'GIBBON_TOKEN' }, env: { GIBBON_TOKEN: 'tok-secret-42' } }, guarded);
      await model.logits(x);
      assert.ok(guarded.requests.every((r) => r.authorization === 'Bearer tok-secret-42'));
      await assert.rejects(connect({ auth: { env: 'GIBBON_TOKEN' }, env: {} }, guarded), (e: unknown) => {
        assert.ok(e instanceof GibbonError && e.location.option === 'auth.env');
        assert.match(e.message, /the environment variable GIBBON_TOKEN \(auth.env\) is not set/);
        return true;
      });
      const wrong = await connect({ auth: { env: 'T' }, env: { T: 'nope-123' }, numClasses: 10 }, guarded);
      await assert.rejects(wrong.logits(x), (e: unknown) => {
        assert.ok(e instanceof EndpointError && e.status === 401, String(e));
        assert.match(e.message, /HTTP 401 Unauthorized \(check the auth token and headers\)/);
        assert.ok(!e.message.includes('nope-123'));
        return true;
      });
      assert.deepEqual(wrong.stats, { requests: 1, retries: 0, failures: 1 });
    } finally {
      await guarded.close();
    }
  });

  test('messages show the URL without credentials or query', () => {
    assert.equal(redactUrl(new URL('https://user:pw@example.com:8443/v1/predict?key=abc')), 'https://example.com:8443/v1/predict?…');
  });

  test('the rate limit spaces request starts, whatever the concurrency', async () => {
    const model = await connect({ numClasses: 10, request: 'single', concurrency: 4, rateLimit: 20 });
    await model.logits(sliceBatch(x, 0, 1)); // a warm connection, so arrivals show the spacing only
    const before = server.requests.length;
    const started = performance.now();
    await model.logits(x);
    const elapsed = performance.now() - started;
    const times = server.requests.slice(before).map((r) => r.at);
    assert.equal(times.length, 8);
    // 8 starts 50 ms apart take ≥ 350 ms although 4 could be in flight; arrivals (seen by a server
    // sharing this event loop) jitter by a few tens of ms around the starts.
    assert.ok(elapsed >= 345, `8 requests at 20/s took ${elapsed.toFixed(0)} ms`);
    assert.ok(times.at(-1)! - times[0]! >= 280, `first to last arrival ${(times.at(-1)! - times[0]!).toFixed(0)} ms`);
  });

  test('options are checked, naming the option', async () => {
    const bad: [Partial<HttpModelOptions>, string][] = [
      [{ url: 'ftp://example.com/x' }, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ inputShape: [null, null] }, 'inputShape'],
      [{ outputPath: 'a..b' }, 'outputPath'],
      [{ inputPath: 'a.0' }, 'inputPath'],
      [{ rateLimit: 0 }, 'rateLimit'],
      [{ retries: -1 }, 'retries'],
      [{ maxResponseBytes: 0 }, 'maxResponseBytes'],
      [{ headers: { 'x-bad': 'a\nb' } }, 'headers'],
    ];
    for (const [options, name] of bad) {
      await assert.rejects(connect({ numClasses: 10, ...options }), (e: unknown) => e instanceof GibbonError && e.location.option === name, name);
    }
    const model = await connect({ numClasses: 10 });
    await assert.rejects(model.logits({ data: new Float32Array(784), shape: [1, 784] }), /x has shape \[1, 784\] but the model expects \[N, 1, 28, 28\]/);
  });
});

describe('a hostile endpoint: redirects, endless, huge and deep answers', () => {
  const one = sliceBatch(x, 0, 1);
  const scores = JSON.stringify({ outputs: [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]] });
  const servers: HostileServer[] = [];
  const hostile = async (...args: Parameters<typeof startHostileServer>): Promise<HostileServer> => {
    const s = await startHostileServer(...args);
    servers.push(s);
    return s;
  };
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const answer = (res: import('node:http').ServerResponse, body: string): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  };

  test('a redirect to another origin is not followed: neither the token nor the inputs reach it; the error names both origins', async () => {
    const elsewhere = await hostile((_, res) => answer(res, scores));
    for (const status of [302, 307, 308]) {
      const redirecting = await hostile((_, res) => {
        res.writeHead(status, { location: `${elsewhere.origin}/steal?k=1` });
        res.end();
      });
      const model = await connect({ url: `${redirecting.origin}/predict`, numClasses: 10, auth: { env: 'T' }, env: { T: 'tok-do-not-leak' }, retries: 2 });
      await assert.rejects(
        model.logits(one),
        endpointError(
          'redirect',
          new RegExp(`^endpoint ${redirecting.origin}/predict: redirected \\(HTTP ${status}\\) to another origin, ${elsewhere.origin};`),
        ),
      );
      assert.equal(redirecting.requests.length, 1, 'a redirect is not retried');
      assert.deepEqual(model.stats, { requests: 1, retries: 0, failures: 1 });
    }
    // Same host, another port; and localhost vs 127.0.0.1: other origins too.
    const byName = await hostile((_, res) => {
      res.writeHead(307, { location: `${elsewhere.origin.replace('127.0.0.1', 'localhost')}/predict` });
      res.end();
    });
    await assert.rejects(
      connect({ url: `${byName.origin}/p`, numClasses: 10 }).then((m) => m.logits(one)),
      endpointError('redirect', /to another origin, http:\/\/localhost:/),
    );
    const toFile = await hostile((_, res) => {
      res.writeHead(301, { location: 'file:///etc/passwd' });
      res.end();
    });
    await assert.rejects(
      connect({ url: `${toFile.origin}/p`, numClasses: 10 }).then((m) => m.logits(one)),
      endpointError('redirect', /to another origin, file:\/\//),
    );
    assert.equal(elsewhere.requests.length, 0, 'nothing reached the other origin');
  });

  test(`a redirect within the origin is followed (307 keeps the method and body), at most ${MAX_REDIRECTS} times`, async () => {
    const server = await hostile((req, res) => {
      if (req.path === '/old') {
        res.writeHead(307, { location: '/new' });
        res.end();
      } else if (req.path.startsWith('/loop')) {
        res.writeHead(302, { location: `/loop${req.path.length}` });
        res.end();
      } else answer(res, scores);
    });
    const model = await connect({ url: `${server.origin}/old`, numClasses: 10, auth: { env: 'T' }, env: { T: 'tok' } });
    const got = await model.logits(one);
    assert.deepEqual(Array.from(got.data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.path, r.headers.authorization, JSON.parse(r.body).inputs.length]),
      [
        ['POST', '/old', 'Bearer tok', 1],
        ['POST', '/new', 'Bearer tok', 1],
      ],
    );
    const looping = await connect({ url: `${server.origin}/loop`, numClasses: 10 });
    const before = server.requests.length;
    await assert.rejects(looping.logits(one), endpointError('redirect', new RegExp(`redirected more than ${MAX_REDIRECTS} times`)));
    assert.equal(server.requests.length - before, MAX_REDIRECTS + 1);
  });

  test('a body longer than maxResponseBytes stops being read there and is a malformed answer, not retried', async () => {
    // 300 MB, chunked (no Content-Length): reading must stop at the cap.
    const huge = await hostile((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"outputs": [[');
      stream(res, `${'1,'.repeat(32 * 1024)}`, 300 * 1024 * 1024);
    });
    const model = await connect({ url: `${huge.origin}/p`, numClasses: 10, maxResponseBytes: 1 << 20, retries: 3 });
    const started = performance.now();
    await assert.rejects(
      model.logits(one),
      endpointError('too_large', /the answer is longer than 1048576 bytes \(max_response_bytes\); reading stopped there/),
    );
    assert.ok(performance.now() - started < 5000);
    assert.equal(huge.requests.length, 1);
    // A declared Content-Length above the cap is refused without reading.
    const declared = await hostile((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(300 * 1024 * 1024) });
      res.write('{"outputs": [[');
    });
    await assert.rejects(
      connect({ url: `${declared.origin}/p`, numClasses: 10, maxResponseBytes: 4096 }).then((m) => m.logits(one)),
      endpointError('too_large', /4096 bytes/),
    );
    // The default cap: a few MiB.
    const defaults = await connect({ url: `${huge.origin}/p`, numClasses: 10 });
    await assert.rejects(defaults.logits(one), endpointError('too_large', /longer than 8388608 bytes/));
  });

  test('an answer that streams forever or trickles times out: the timeout covers the whole body', async () => {
    const forever = await hostile((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      stream(res, '[', Infinity, 5);
    });
    const trickle = await hostile((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      stream(res, ' ', Infinity, 50);
    });
    for (const server of [forever, trickle]) {
      const model = await connect({ url: `${server.origin}/p`, numClasses: 10, timeoutMs: 300, retries: 1 });
      const started = performance.now();
      await assert.rejects(model.logits(one), endpointError('timeout', /timed out after 2 attempts \(1 retry\): no complete answer within 300 ms/));
      const ms = performance.now() - started;
      assert.ok(ms >= 550 && ms < 3000, `took ${ms.toFixed(0)} ms`);
    }
  });

  test('`[` and a million spaces, and arrays nested 10⁵ deep, fail at once with a clean error', async () => {
    const spaces = await hostile((_, res) => answer(res, `[${' '.repeat(1_000_000)}`));
    const deep = await hostile((_, res) => answer(res, deeplyNested(100_000)));
    const started = performance.now();
    await assert.rejects(
      connect({ url: `${spaces.origin}/p`, numClasses: 10 }).then((m) => m.logits(one)),
      endpointError('not_json', /the response is not JSON \(HTTP 200/),
    );
    await assert.rejects(
      connect({ url: `${deep.origin}/p`, numClasses: 10 }).then((m) => m.logits(one)),
      endpointError('too_deep', /the answer is not class scores: it nests arrays and objects more than \d+ levels deep/),
    );
    assert.ok(performance.now() - started < 3000, `took ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(spaces.requests.length + deep.requests.length, 2, 'not retried');
  });
});
