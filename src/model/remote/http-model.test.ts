/** HttpModel against a local server of the reference MLP: the same answers, attacks, auth and options. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startModelServer, type ModelServer } from '../../../test/helpers/model-server.js';
import { connectTo, endpointError, serveReferenceModel } from '../../../test/helpers/http-model-setup.js';
import { runAttack } from '../../attacks/attack.js';
import { createAttack } from '../../attacks/registry.js';
import { referenceInputs } from '../../attacks/testing/reference-data.js';
import { GibbonError } from '../../errors.js';
import { sliceBatch } from '../../tensor/tensor.js';
import { decisionOracle, scoreOracle } from '../oracles.js';
import { EndpointError, HttpModel, redactUrl, type HttpModelOptions } from './http-model.js';

const { x, y } = referenceInputs(8);
const served = serveReferenceModel();
const connect = (options: Partial<HttpModelOptions> = {}, on: ModelServer = served.server): Promise<HttpModel> => connectTo(on, options);

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
    const expected = await served.onnx.logits(x);
    const got = await model.logits(x);
    assert.deepEqual(got.shape, [8, 10]);
    assert.deepEqual(Array.from(got.data), Array.from(expected.data));
    assert.equal(model.stats.requests, 2);
    const small = await connect({ numClasses: 10, maxBatch: 3 });
    assert.deepEqual(Array.from((await small.logits(x)).data), Array.from(expected.data));
    assert.deepEqual(small.stats, { requests: 3, retries: 0, failures: 0 }, '8 examples at most 3 per request');
  });

  test('single mode: one request per example, the same logits as OnnxModel on each example', async () => {
    const before = served.server.requests.length;
    const model = await connect({ request: 'single', numClasses: 10, concurrency: 3 });
    const got = await model.logits(x);
    assert.equal(served.server.requests.length - before, 8);
    assert.ok(served.server.requests.slice(before).every((r) => r.examples === 1));
    assert.ok(maxDifference(got.data, (await served.onnx.logits(x)).data) < 1e-5);
    for (let i = 0; i < 8; i++) {
      const one = await served.onnx.logits(sliceBatch(x, i, i + 1));
      assert.deepEqual(Array.from(got.data.subarray(i * 10, (i + 1) * 10)), Array.from(one.data));
    }
  });

  test('a dotted output path with * reads { predictions: [{ scores }] }', async () => {
    const styled = await startModelServer(served.onnx, { style: 'predictions' });
    try {
      const model = await connect({ outputPath: 'predictions.*.scores' }, styled);
      assert.deepEqual(Array.from((await model.logits(x)).data), Array.from((await served.onnx.logits(x)).data));
      const first = await connect({ outputPath: 'predictions[0].scores', request: 'single' }, styled);
      assert.ok(maxDifference((await first.logits(x)).data, (await served.onnx.logits(x)).data) < 1e-5);
    } finally {
      await styled.close();
    }
  });

  test("outputs 'probabilities': a score oracle reports the endpoint's probabilities; logits would be refused", async () => {
    const probs = await startModelServer(served.onnx, { outputs: 'probabilities' });
    try {
      const model = await connect({ outputs: 'probabilities' }, probs);
      const { probabilities } = await scoreOracle(model).scores(x);
      const { probabilities: expected } = await scoreOracle(served.onnx).scores(x);
      assert.ok(maxDifference(probabilities.data, expected.data) < 1e-6);
      const wrong = await connect({ outputs: 'probabilities', numClasses: 10 });
      await assert.rejects(wrong.logits(x), endpointError('bad_scores', /probabilities of row 0 sum to|is not a probability.*outputs: logits/));
    } finally {
      await probs.close();
    }
  });

  test("outputs 'label': decision-only, one-hot logits, the same predictions; numClasses is required", async () => {
    const labels = await startModelServer(served.onnx, { outputs: 'label' });
    try {
      const model = await connect({ outputs: 'label', numClasses: 10 }, labels);
      assert.equal(model.decisionOnly, true);
      assert.deepEqual(Array.from(await decisionOracle(model).predict(x)), Array.from(await served.onnx.predict(x)));
      const single = await connect({ outputs: 'label', numClasses: 10, request: 'single' }, labels);
      assert.deepEqual(Array.from(await decisionOracle(single).predict(x)), Array.from(await served.onnx.predict(x)));
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
    const local = await runAttack(attack, scoreOracle(served.onnx, { queryBudget: 40 }), x, y, options);
    const remote = await runAttack(attack, scoreOracle(model, { queryBudget: 40 }), x, y, options);
    assert.deepEqual(Array.from(remote.success), Array.from(local.success));
    assert.deepEqual(Array.from(remote.clipped.data), Array.from(local.clipped.data));
    assert.equal(remote.queries, local.queries);
    assert.ok(remote.queries > 8, `queries ${remote.queries}`);
    assert.equal(model.stats.failures, 0);
  });

  test('HopSkipJump over a label-only endpoint equals HopSkipJump over the ONNX decision oracle', async () => {
    const labels = await startModelServer(served.onnx, { outputs: 'label' });
    try {
      // Batches as large as the oracle's calls, so the served.server runs exactly the rows the local model runs.
      const model = await connect({ outputs: 'label', numClasses: 10, maxBatch: 1024 }, labels);
      const attack = createAttack('hsj', { steps: 2, initialEvals: 20, queries: 200 });
      const xs = sliceBatch(x, 0, 2);
      const ys = y.subarray(0, 2);
      const options = { eps: 0.3, norm: 'linf' as const, seed: 3 };
      const local = await runAttack(attack, decisionOracle(served.onnx, { queryBudget: 200 }), xs, ys, options);
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

describe('auth, rate limit, URLs', () => {
  test('the token comes from the environment variable and is sent; a missing variable is named; 401 is not retried', async () => {
    const guarded = await startModelServer(served.onnx, { token: 'tok-secret-42' });
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
    const before = served.server.requests.length;
    const started = performance.now();
    await model.logits(x);
    const elapsed = performance.now() - started;
    const times = served.server.requests.slice(before).map((r) => r.at);
    assert.equal(times.length, 8);
    // 8 starts 50 ms apart take ≥ 350 ms although 4 could be in flight; arrivals (seen by a served.server
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
