/**
 * A local HTTP model server for tests and benchmarks: node:http on 127.0.0.1 at a random port,
 * answering POST { inputs: [example, …] } (or one example) with { outputs: [[score, …], …] } from
 * any ClassifierModel (e.g. an OnnxModel). Faults can be switched on at any time through `faults`
 * to see how a client copes: failing the first k requests with 500/503/429, slow answers, a
 * missing output field, NaN scores, a body that is not JSON, and a required bearer token.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClassifierModel } from '../../src/model/oracles.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export interface ModelServerFaults {
  /** Answer this many of the next requests with `failStatus` (counts down). */
  failNext?: number;
  /** Default 503. */
  failStatus?: number;
  /** Retry-After header (seconds) sent with failures. */
  retryAfter?: number;
  /** Wait this long before answering (ms). */
  delayMs?: number;
  /** Delay only this many of the next requests (counts down; default: all while delayMs is set). */
  delayNext?: number;
  /** Answer without the output field. */
  dropField?: boolean;
  /** Write NaN (bare, as Python's json does) as the first score of every row. */
  nan?: boolean;
  /** Answer with an HTML page instead of JSON. */
  notJson?: boolean;
  /** Drop the last class of every row. */
  wrongClasses?: boolean;
}

export interface ModelServerOptions {
  /** Top-level key of the inputs in the request (default 'inputs'). */
  readonly inputKey?: string;
  /** 'outputs': { outputs: [[…]] } (default); 'predictions': { predictions: [{ scores: […] }, …] }. */
  readonly style?: 'outputs' | 'predictions';
  /** What to answer: the model's logits (default), softmax probabilities, or argmax labels. */
  readonly outputs?: 'logits' | 'probabilities' | 'label';
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401). */
  readonly token?: string;
}

export interface RecordedRequest {
  /** performance.now() when the request arrived. */
  readonly at: number;
  readonly authorization: string | undefined;
  /** Examples in the request (1 for a single example). */
  readonly examples: number;
}

export interface ModelServer {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Switch faults on and off between (or during) requests. */
  faults: ModelServerFaults;
  close(): Promise<void>;
}

function depth(v: unknown): number {
  let d = 0;
  while (Array.isArray(v)) {
    d++;
    v = v[0];
  }
  return d;
}

/** Writes the numbers of nested arrays into out from `at`; returns the next index. */
function flatten(v: unknown, out: number[], at = 0): number {
  if (!Array.isArray(v)) {
    out[at] = v as number;
    return at + 1;
  }
  for (let k = 0; k < v.length; k++) at = flatten(v[k], out, at);
  return at;
}

function softmax(row: Float32Array): number[] {
  const m = Math.max(...row);
  const e = Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts a server for `model` on 127.0.0.1 (a random free port). */
export async function startModelServer(model: ClassifierModel, options: ModelServerOptions = {}): Promise<ModelServer> {
  const exampleShape = model.inputShape.slice(1) as number[];
  const rowSize = exampleShape.reduce((a, d) => a * d, 1);
  const requests: RecordedRequest[] = [];
  const state: { faults: ModelServerFaults } = { faults: {} };

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = performance.now();
    const text = await readBody(req);
    const faults = state.faults;
    let value: unknown;
    try {
      value = (JSON.parse(text) as Record<string, unknown>)[options.inputKey ?? 'inputs'];
    } catch {
      return send(res, 400, JSON.stringify({ error: 'request body is not JSON' }));
    }
    const single = depth(value) === exampleShape.length;
    const flat: number[] = [];
    flatten(single ? [value] : value, flat);
    const n = flat.length / rowSize;
    requests.push({ at, authorization: req.headers.authorization, examples: n });
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      return send(res, 401, JSON.stringify({ error: 'unauthorized' }));
    }
    if (!Number.isInteger(n) || n < 1 || depth(value) - (single ? 0 : 1) !== exampleShape.length) {
      return send(res, 400, JSON.stringify({ error: `inputs must be examples of shape [${exampleShape.join(', ')}]` }));
    }
    if (faults.delayMs && (faults.delayNext === undefined || faults.delayNext > 0)) {
      if (faults.delayNext !== undefined) faults.delayNext--;
      await new Promise((resolve) => setTimeout(resolve, faults.delayMs));
    }
    if (faults.failNext && faults.failNext > 0) {
      faults.failNext--;
      const status = faults.failStatus ?? 503;
      return send(
        res,
        status,
        JSON.stringify({ error: 'injected failure' }),
        faults.retryAfter !== undefined ? { 'retry-after': String(faults.retryAfter) } : {},
      );
    }
    if (faults.notJson) return send(res, 200, '<html><body>Bad Gateway</body></html>', { 'content-type': 'text/html' });
    const x: Tensor = { data: Float32Array.from(flat), shape: [n, ...exampleShape] };
    const logits = await model.logits(x);
    const c = model.numClasses;
    const rows = Array.from({ length: n }, (_, i) => {
      const row = logits.data.slice(i * c, (i + 1) * c);
      let out: number[] = options.outputs === 'probabilities' ? softmax(row) : Array.from(row);
      if (faults.wrongClasses) out = out.slice(0, -1);
      return out;
    });
    const labels = rows.map((r) => r.indexOf(Math.max(...r)));
    const perExample: unknown[] = options.outputs === 'label' ? labels : rows;
    const answer = single ? perExample[0] : perExample;
    let body: string;
    if (faults.dropField) body = JSON.stringify({ result: answer, model: 'test' });
    else if (options.style === 'predictions') {
      body = JSON.stringify({ predictions: (single ? [answer] : perExample).map((scores) => ({ scores })) });
    } else body = JSON.stringify({ outputs: answer });
    if (faults.nan) body = body.replace(/\[(-?[\d.e+-]+)(?=[,\]])/g, '[NaN');
    send(res, 200, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, JSON.stringify({ error: String(e) })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/predict`,
    port,
    requests,
    get faults() {
      return state.faults;
    },
    set faults(f: ModelServerFaults) {
      state.faults = f;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
