/**
 * HttpModel: a classifier behind an HTTP endpoint that takes JSON inputs and answers with JSON
 * class scores — a score-based black box, or, when it only says the predicted class, a
 * decision-based one. It implements `ClassifierModel`, so the oracle factories wrap it like an
 * `OnnxModel` and count and limit queries the same way.
 *
 * What `logits()` gives depends on `outputs`:
 * - 'logits': the endpoint's scores as they are;
 * - 'probabilities': log-probabilities (their softmax is the endpoint's probabilities, so a score
 *   oracle over this model reports exactly what the endpoint said);
 * - 'label': one-hot rows of the predicted classes. Such a model is `decisionOnly`: it can back a
 *   decision oracle only, and must not be given to a score oracle.
 *
 * The request: `method` (POST) to `url` with a JSON body holding the inputs at `inputPath`
 * (nested arrays shaped like one example, or flat arrays), in `request` mode 'batch' (up to
 * `maxBatch` examples per request, as a list) or 'single' (one example per request). The scores
 * are read at `outputPath` in the response (dotted, with indices and `*`, e.g.
 * `predictions.*.scores`). Up to `concurrency` requests are in flight, and `rateLimit` spaces their
 * starts. Retries, redirects, timeouts and the limits on answers are http-client.ts's: a failed
 * query raises an `EndpointError` and is never taken for an answer (and so never for a
 * misclassification). `stats` counts requests, retries and failures.
 *
 * The options are checked once, by the endpoint schema (endpoint.ts): `connect` checks the
 * library's camelCase options with it; `open` takes an endpoint the schema has already accepted
 * (a threat model's `endpoint` section) and checks nothing again.
 *
 * The auth token is read from an environment variable when the model is created and sent in a
 * header; it is never part of a message, and URLs in messages have their credentials removed.
 *
 * @example
 * const model = await HttpModel.connect({ url: 'http://127.0.0.1:8080/predict', inputShape: [null, 1, 28, 28], outputs: 'logits' });
 * const oracle = scoreOracle(model, { queryBudget: 1000 });
 */
import { GibbonError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierModel } from '../oracles.js';
import { checkExamples } from '../check-examples.js';
import { labelRows, oneHotLogits, scoreRows, toLogits, type OutputKind } from './class-scores.js';
import { endpointFromOptions, type Endpoint, type InputFormat, type RequestMode } from './endpoint.js';
import { EndpointClient, redactUrl, type EndpointError } from './http-client.js';
import { checkInputShape } from './input-shape.js';
import { getJsonPath, MissingFieldError, parseJsonPath, setJsonPath, type JsonPath } from './json-path.js';

export { EndpointError, MAX_REDIRECTS, redactUrl, type EndpointProblem } from './http-client.js';
export { INPUT_FORMATS, REQUEST_MODES, type InputFormat, type RequestMode } from './endpoint.js';

export interface EndpointAuth {
  /** Environment variable holding the token. */
  readonly env: string;
  /** Word before the token (default 'Bearer'; '' sends the bare token). */
  readonly scheme?: string;
  /** Header that carries it (default 'Authorization'). */
  readonly header?: string;
}

export interface HttpModelOptions {
  readonly url: string;
  /** HTTP method (default 'POST'). */
  readonly method?: 'POST' | 'PUT';
  /** Input shape with the batch dimension first, e.g. [null, 1, 28, 28]. */
  readonly inputShape: readonly (number | null)[];
  /** Classes (default: asked of the endpoint with one all-zero example; required for outputs 'label'). */
  readonly numClasses?: number;
  /** Default 'batch'. */
  readonly request?: RequestMode;
  /** Most examples per request in batch mode (default 128). */
  readonly maxBatch?: number;
  /** Where the inputs go in the request JSON: object keys joined by dots (default 'inputs'). */
  readonly inputPath?: string;
  /** Default 'nested'. */
  readonly inputFormat?: InputFormat;
  /** Further fields of every request body (e.g. { signature_name: 'serving_default' }). */
  readonly body?: Readonly<Record<string, unknown>>;
  /** Where the scores are in the response JSON (default 'outputs'). */
  readonly outputPath?: string;
  /** What the endpoint returns per example (default 'logits'). */
  readonly outputs?: OutputKind;
  /** Extra request headers (put secrets in `auth`, not here). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly auth?: EndpointAuth;
  /** Milliseconds before a request, body included, is abandoned (and retried) (default 30000). */
  readonly timeoutMs?: number;
  /** Largest answer body read, in bytes (default 8 MiB); a longer one is a malformed answer. */
  readonly maxResponseBytes?: number;
  /** Retries of a request after a network error, timeout, HTTP 5xx or 429 (default 3). */
  readonly retries?: number;
  /** Wait before the first retry; doubled for each further one (default 500 ms). */
  readonly backoffMs?: number;
  /** Most request starts per second (default: no limit). */
  readonly rateLimit?: number;
  /** Most requests in flight (default 4). */
  readonly concurrency?: number;
  /** Where `auth.env` is looked up (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Counts over the model's lifetime. */
export interface HttpModelStats {
  /** HTTP requests sent, retries included. */
  readonly requests: number;
  /** Requests that repeated a failed one. */
  readonly retries: number;
  /** Queries that failed for good (after their retries, or at once for HTTP 4xx and malformed answers). */
  readonly failures: number;
}

/** Where an endpoint's inputs come from: their shape (batch first) and the environment holding the token. */
export interface EndpointContext {
  /** Input shape with the batch dimension first, e.g. [null, 1, 28, 28]. */
  readonly inputShape: readonly (number | null)[];
  /** Where `auth.env` is looked up (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const DEFAULTS = {
  method: 'POST',
  request: 'batch',
  maxBatch: 128,
  inputPath: 'inputs',
  inputFormat: 'nested',
  outputPath: 'outputs',
  outputs: 'logits',
  timeoutMs: 30_000,
  retries: 3,
  backoffMs: 500,
  concurrency: 4,
  maxResponseBytes: 8 * 1024 * 1024,
} as const;

/** How requests are made and answers read. */
interface Exchange {
  readonly request: RequestMode;
  readonly maxBatch: number;
  readonly inputPath: JsonPath;
  readonly inputFormat: InputFormat;
  readonly body: Readonly<Record<string, unknown>>;
  readonly outputPath: JsonPath;
  readonly concurrency: number;
}

/** The request headers: JSON both ways, the endpoint's own, and the token from the environment. */
function requestHeaders(
  endpoint: Endpoint,
  env: Readonly<Record<string, string | undefined>>,
  url: string,
): { headers: Record<string, string>; token?: string } {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  for (const [name, value] of Object.entries(endpoint.headers ?? {})) headers[name.toLowerCase()] = value;
  let token: string | undefined;
  if (endpoint.auth) {
    const variable = endpoint.auth.env;
    token = env[variable];
    if (token === undefined || token === '') {
      throw new GibbonError('invalid_option', `the environment variable ${variable} (auth.env) is not set; it must hold the token for ${url}`, {
        option: 'auth.env',
      });
    }
    const scheme = endpoint.auth.scheme ?? 'Bearer';
    headers[(endpoint.auth.header ?? 'Authorization').toLowerCase()] = scheme ? `${scheme} ${token}` : token;
  }
  try {
    new Headers(headers);
  } catch (e) {
    throw new GibbonError('invalid_option', `headers are not valid HTTP headers: ${(e as Error).message.split(token ?? '\u0000').join('***')}`, {
      option: 'headers',
    });
  }
  return { headers, token };
}

export class HttpModel implements ClassifierModel {
  /** The endpoint's URL without credentials (for messages and reports). */
  readonly url: string;
  /** True when the endpoint gives labels only: the model may back a decision oracle, never a score oracle. */
  readonly decisionOnly: boolean;

  private constructor(
    readonly outputs: OutputKind,
    private readonly client: EndpointClient,
    private readonly exchange: Exchange,
    readonly inputShape: readonly (number | null)[],
    readonly numClasses: number,
  ) {
    this.url = client.url;
    this.decisionOnly = outputs === 'label';
  }

  /**
   * Checks the options (naming the option at fault), reads the auth token and, when `numClasses`
   * is not given, asks the endpoint about one all-zero example to learn it (one request, not
   * charged to any oracle).
   */
  static async connect(options: HttpModelOptions): Promise<HttpModel> {
    return HttpModel.open(endpointFromOptions(options), options);
  }

  /** `connect` for an endpoint the schema has accepted (e.g. a threat model's `endpoint`). */
  static async open(endpoint: Endpoint, context: EndpointContext): Promise<HttpModel> {
    const inputShape = checkInputShape(context.inputShape, 'inputShape');
    const target = new URL(endpoint.url);
    const { headers, token } = requestHeaders(endpoint, context.env ?? process.env, redactUrl(target));
    const client = new EndpointClient({
      target,
      method: endpoint.method ?? DEFAULTS.method,
      headers,
      token,
      timeoutMs: endpoint.timeout_ms ?? DEFAULTS.timeoutMs,
      retries: endpoint.retries ?? DEFAULTS.retries,
      backoffMs: endpoint.backoff_ms ?? DEFAULTS.backoffMs,
      maxResponseBytes: endpoint.max_response_bytes ?? DEFAULTS.maxResponseBytes,
      rateLimit: endpoint.rate_limit,
    });
    const exchange: Exchange = {
      request: endpoint.request ?? DEFAULTS.request,
      maxBatch: endpoint.max_batch ?? DEFAULTS.maxBatch,
      inputPath: parseJsonPath(endpoint.input_path ?? DEFAULTS.inputPath, 'inputPath', true),
      inputFormat: endpoint.input_format ?? DEFAULTS.inputFormat,
      body: endpoint.body ?? {},
      outputPath: parseJsonPath(endpoint.output_path ?? DEFAULTS.outputPath, 'outputPath'),
      concurrency: endpoint.concurrency ?? DEFAULTS.concurrency,
    };
    const outputs = endpoint.outputs ?? DEFAULTS.outputs;
    if (endpoint.num_classes !== undefined) return new HttpModel(outputs, client, exchange, inputShape, endpoint.num_classes);
    const probe = new HttpModel(outputs, client, exchange, inputShape, 0);
    const zeros = new Float32Array(inputShape.slice(1).reduce<number>((a, d) => a * d!, 1));
    const { numClasses } = await probe.ask({ data: zeros, shape: [1, ...(inputShape.slice(1) as number[])] }, 0, 1, undefined);
    if (numClasses < 2) throw client.error('invalid_model', 'bad_scores', `answers with ${numClasses} class score(s) per example; a classifier has at least 2`);
    return new HttpModel(outputs, client, exchange, inputShape, numClasses);
  }

  get stats(): HttpModelStats {
    return { ...this.client.counts };
  }

  /** Class logits (N, C): see the file comment for what they are per `outputs`. */
  async logits(x: Tensor): Promise<Tensor> {
    checkExamples(x, this.inputShape, 'x');
    const n = x.shape[0]!;
    const c = this.numClasses;
    const step = this.exchange.request === 'single' ? 1 : this.exchange.maxBatch;
    const chunks: [number, number][] = [];
    for (let start = 0; start < n; start += step) chunks.push([start, Math.min(n, start + step)]);
    const out = new Float32Array(n * c);
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && next < chunks.length) {
        const [start, end] = chunks[next++]!;
        try {
          out.set((await this.ask(x, start, end, c)).logits.data, start * c);
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    };
    const workers = Array.from({ length: Math.min(this.exchange.concurrency, chunks.length) }, worker);
    // Every request in flight ends before the first error surfaces, so none outlives the call.
    const settled = await Promise.allSettled(workers);
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    return { data: out, shape: [n, c] };
  }

  /** Nothing to free (connections are pooled by Node); for symmetry with OnnxModel. */
  async dispose(): Promise<void> {}

  /** Examples [start, end) as the request's input value (plain loops: Array.from is ~40× slower here). */
  private inputValue(x: Tensor, start: number, end: number): unknown {
    const dims = this.exchange.inputFormat === 'flat' ? [x.data.length / x.shape[0]!] : x.shape.slice(1);
    const row = dims.reduce((a, d) => a * d, 1);
    const nest = (offset: number, axis: number): unknown[] => {
      const n = dims[axis]!;
      const out = new Array<unknown>(n);
      if (axis === dims.length - 1) {
        for (let k = 0; k < n; k++) out[k] = x.data[offset + k];
        return out;
      }
      let stride = 1;
      for (let a = axis + 1; a < dims.length; a++) stride *= dims[a]!;
      for (let k = 0; k < n; k++) out[k] = nest(offset + k * stride, axis + 1);
      return out;
    };
    if (this.exchange.request === 'single') return nest(start * row, 0);
    const out = new Array<unknown>(end - start);
    for (let i = start; i < end; i++) out[i - start] = nest(i * row, 0);
    return out;
  }

  /** One query: the examples [start, end) of x, as logits (with the class count found). */
  private async ask(x: Tensor, start: number, end: number, numClasses: number | undefined): Promise<{ logits: Tensor; numClasses: number }> {
    const body = JSON.stringify(setJsonPath(this.exchange.body, this.exchange.inputPath, this.inputValue(x, start, end)));
    const answer = await this.client.send(body);
    const n = end - start;
    try {
      return this.readScores(answer, n, numClasses);
    } catch (e) {
      this.client.counts.failures++;
      throw e;
    }
  }

  private readScores(answer: unknown, n: number, numClasses: number | undefined): { logits: Tensor; numClasses: number } {
    const path = this.exchange.outputPath;
    let value: unknown;
    try {
      value = getJsonPath(answer, path);
    } catch (e) {
      if (!(e instanceof MissingFieldError)) throw e;
      const { found, missing, actual } = e.detail;
      throw this.client.error(
        'invalid_model',
        'missing_field',
        `the response has nothing at output path '${path.text}': no '${missing}' ${found ? `under '${found}'` : 'at the top level'}, which is ${actual}`,
      );
    }
    const single = this.exchange.request === 'single';
    const fail = (message: string): EndpointError => this.client.error('invalid_model', 'bad_scores', `at output path '${path.text}': ${message}`);
    if (this.outputs === 'label') {
      const c = numClasses!;
      const labels = labelRows(single && !Array.isArray(value) ? [value] : value, n, c, fail);
      return { logits: oneHotLogits(labels, c), numClasses: c };
    }
    // One example's scores may come as a row or as a batch of one row.
    const rows = single && Array.isArray(value) && !Array.isArray(value[0]) && value.length > 0 ? [value] : value;
    const { data, numClasses: c } = scoreRows(rows, n, numClasses, fail);
    return { logits: toLogits(data, n, c, this.outputs, fail), numClasses: c };
  }
}
