/**
 * Black-box text models: a function model checks its function's answers; an HTTP text model speaks
 * the documented wire format to a served classifier (the same scores as the model itself), batches
 * requests, retries a 503, and turns a bad answer into one error naming the endpoint.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GibbonError } from '../errors.js';
import { FunctionTextModel } from './function-text-model.js';
import { HttpTextModel } from './http-text-model.js';
import { serveTextClassifier } from './text-endpoint-server.js';

const keyword = new FunctionTextModel((texts) => texts.map((t) => (/free money/i.test(t) ? [0, 2] : [1, -1])), { classes: 2, labels: ['ham', 'spam'] });

async function rawServer(
  handler: (body: string, count: number) => { status: number; body: string },
): Promise<{ url: string; close: () => Promise<void>; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      const r = handler(body, bodies.length);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('FunctionTextModel', () => {
  test('scores per text; probabilities become log-probabilities; wrong answers are errors', async () => {
    const rows = await keyword.scores(['get FREE MONEY', 'lunch?']);
    assert.deepEqual(
      rows.map((r) => Array.from(r)),
      [
        [0, 2],
        [1, -1],
      ],
    );
    const probs = new FunctionTextModel(() => [[0.25, 0.75]], { classes: 2, outputs: 'probabilities' });
    const [p] = await probs.scores(['x']);
    assert.ok(Math.abs(p![1]! - Math.log(0.75)) < 1e-6);
    const short = new FunctionTextModel((t) => t.map(() => [1]), { classes: 2 });
    await assert.rejects(short.scores(['a']), (e: GibbonError) => e.code === 'invalid_model' && /row 0 has 1 scores; expected 2/.test(e.message));
    const nan = new FunctionTextModel(() => [[NaN, 1]], { classes: 2 });
    await assert.rejects(nan.scores(['a']), /NaN/);
    assert.throws(() => new FunctionTextModel(() => [], { classes: 1 }), /classes must be an integer ≥ 2/);
  });
});

describe('HttpTextModel', () => {
  test('the served classifier answers what it answers locally, in batches of maxBatch', async () => {
    const endpoint = await serveTextClassifier(keyword);
    try {
      const remote = new HttpTextModel({ url: endpoint.url, classes: 2, maxBatch: 2 });
      const texts = ['free money!', 'hello', 'more FREE money', 'bye', 'x'];
      const got = await remote.scores(texts);
      assert.deepEqual(
        got.map((r) => Array.from(r)),
        (await keyword.scores(texts)).map((r) => Array.from(r)),
      );
      assert.equal(remote.client.counts.requests, 3);
      assert.equal(endpoint.served(), 5);
    } finally {
      await endpoint.close();
    }
  });

  test('sends {"texts": [...]}, retries a 503, refuses an answer without scores', async () => {
    const server = await rawServer((body, count) => {
      if (count === 1) return { status: 503, body: '{"error":"busy"}' };
      const texts = (JSON.parse(body) as { texts: string[] }).texts;
      if (texts[0] === 'bad') return { status: 200, body: '{"labels": [1]}' };
      return { status: 200, body: JSON.stringify({ scores: texts.map((t) => [t.length, 0]) }) };
    });
    try {
      const remote = new HttpTextModel({ url: server.url, classes: 2, retries: 2, backoffMs: 1 });
      const [s] = await remote.scores(['four']);
      assert.deepEqual(Array.from(s!), [4, 0]);
      assert.deepEqual(JSON.parse(server.bodies[1]!), { texts: ['four'] });
      assert.equal(remote.client.counts.retries, 1);
      await assert.rejects(remote.scores(['bad']), (e: GibbonError) => /no "scores" field/.test(e.message) && e.message.includes(server.url));
    } finally {
      await server.close();
    }
  });

  test('the test server refuses what is not {"texts": [strings]} and bodies over its cap', async () => {
    const endpoint = await serveTextClassifier(keyword, { maxBodyBytes: 64 });
    try {
      const post = (body: string): Promise<Response> => fetch(endpoint.url, { method: 'POST', body });
      assert.equal((await post('{"texts": [1]}')).status, 400);
      assert.equal((await post('not json')).status, 400);
      assert.equal((await post(JSON.stringify({ texts: ['x'.repeat(100)] }))).status, 413);
    } finally {
      await endpoint.close();
    }
  });
});
