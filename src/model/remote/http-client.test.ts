/** HttpModel's transport (http-client.ts): retries and failures, and hostile endpoints. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startModelServer, type ModelServer } from '../../../test/helpers/model-server.js';
import { connectTo, endpointError, serveReferenceModel, SHAPE } from '../../../test/helpers/http-model-setup.js';
import { runAttack } from '../../attacks/attack.js';
import { createAttack } from '../../attacks/registry.js';
import { referenceInputs } from '../../attacks/testing/reference-data.js';
import { sliceBatch } from '../../tensor/tensor.js';
import { scoreOracle } from '../oracles.js';
import { deeplyNested, startHostileServer, stream, type HostileServer } from '../../../test/helpers/hostile-http.js';
import { HttpModel, MAX_REDIRECTS, type EndpointError, type HttpModelOptions } from './http-model.js';

const { x, y } = referenceInputs(8);
const served = serveReferenceModel();
const connect = (options: Partial<HttpModelOptions> = {}, on: ModelServer = served.server): Promise<HttpModel> => connectTo(on, options);

describe('failures: retried when transient, reported, never taken for an answer', () => {
  test('HTTP 503 and 500 are retried with backoff and counted', async () => {
    const model = await connect({ numClasses: 10, retries: 3 });
    served.server.faults = { failNext: 2, failStatus: 503 };
    assert.deepEqual(Array.from((await model.logits(x)).data), Array.from((await served.onnx.logits(x)).data));
    assert.deepEqual(model.stats, { requests: 3, retries: 2, failures: 0 });
    served.server.faults = { failNext: 1, failStatus: 500 };
    await model.logits(x);
    assert.deepEqual(model.stats, { requests: 5, retries: 3, failures: 0 });
    served.server.faults = {};
  });

  test('after the last retry the error surfaces through the attack: no result, nothing counted as broken', async () => {
    const model = await connect({ numClasses: 10, retries: 2 });
    served.server.faults = { failNext: 1000, failStatus: 503 };
    try {
      await assert.rejects(
        runAttack(createAttack('square', { queries: 20 }), scoreOracle(model), x, y, { eps: 0.3, norm: 'linf', seed: 0 }),
        endpointError('http_status', /^endpoint http:\/\/127\.0\.0\.1:\d+\/predict: failed after 3 attempts \(2 retries\): HTTP 503/),
      );
      assert.deepEqual(model.stats, { requests: 3, retries: 2, failures: 1 });
    } finally {
      served.server.faults = {};
    }
  });

  test('a slow answer times out and is retried; one that stays slow fails naming the timeout', async () => {
    const model = await connect({ numClasses: 10, retries: 1, timeoutMs: 150 });
    served.server.faults = { delayMs: 400, delayNext: 1 };
    await model.logits(x);
    assert.deepEqual(model.stats, { requests: 2, retries: 1, failures: 0 });
    served.server.faults = { delayMs: 400 };
    try {
      await assert.rejects(model.logits(x), endpointError('timeout', /timed out after 2 attempts \(1 retry\): no complete answer within 150 ms/));
      assert.equal(model.stats.failures, 1);
    } finally {
      served.server.faults = {};
    }
  });

  test('HTTP 429 waits as long as Retry-After says', async () => {
    const model = await connect({ numClasses: 10, retries: 1 });
    served.server.faults = { failNext: 1, failStatus: 429, retryAfter: 1 };
    const started = performance.now();
    await model.logits(x);
    const waited = performance.now() - started;
    assert.ok(waited >= 950, `waited ${waited.toFixed(0)} ms`);
    assert.equal(model.stats.retries, 1);
    served.server.faults = {};
  });

  test('an unreachable endpoint (a closed port) fails after its retries, naming the URL and the cause', async () => {
    const closed = await startModelServer(served.onnx);
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
      served.server.faults = faults;
      const before = model.stats;
      await assert.rejects(model.logits(x), endpointError(problem, pattern));
      assert.deepEqual(model.stats, { requests: before.requests + 1, retries: before.retries, failures: before.failures + 1 }, JSON.stringify(faults));
    }
    served.server.faults = {};
    const nested = await connect({ numClasses: 10, outputPath: 'outputs.0.scores' });
    await assert.rejects(nested.logits(x), endpointError('missing_field', /no 'scores' under 'outputs\.0', which is an array of 10/));
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
