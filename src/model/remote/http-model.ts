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
 * starts. Network errors, timeouts, HTTP 5xx and 429 are retried `retries` times with exponential
 * backoff (honouring Retry-After); HTTP 4xx and malformed answers are not. A request that still
 * fails raises an `EndpointError`: a failed query is never taken for an answer (and so never for a
 * misclassification). `stats` counts requests, retries and failures.
 *
 * The auth token is read from an environment variable when the model is created and sent in a
 * header; it is never part of a message, and URLs in messages have their credentials removed.
 *
 * The endpoint is not trusted: a redirect to another origin (scheme, host, port) is never followed,
 * because following it would send the token and the inputs there (it fails naming both origins);
 * a redirect within the origin is followed at most `MAX_REDIRECTS` times. The answer's body is read
 * up to `maxResponseBytes` (reading stops there), within the same `timeoutMs` as the headers (a
 * server that trickles or streams forever times out), and parsed in linear time with its nesting
 * depth bounded (lenient-json.ts). Such answers are malformed, not transient: they are not retried.
 *
 * @example
 * const model = await HttpModel.connect({ url: 'http://127.0.0.1:8080/predict', inputShape: [null, 1, 28, 28], outputs: 'logits' });
 * const oracle = scoreOracle(model, { queryBudget: 1000 });
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GibbonError, type ErrorCode } from '../../errors.js';
import { optional, positiveInteger as positiveIntegerRule } from '../../options.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierModel } from '../oracles.js';
import { labelRows, oneHotLogits, OUTPUT_KINDS, scoreRows, toLogits, type OutputKind } from './class-scores.js';
import { checkExamples } from '../check-examples.js';
import { checkInputShape } from './input-shape.js';
import { getJsonPath, MissingFieldError, parseJsonPath, setJsonPath, type JsonPath } from './json-path.js';
import { JsonAnswerError, parseLenientJson } from './lenient-json.js';

export const REQUEST_MODES = ['batch', 'single'] as const;
/** One request with many examples, or one request per example. */
export type RequestMode = (typeof REQUEST_MODES)[number];

export const INPUT_FORMATS = ['nested', 'flat'] as const;
/** Each example as nested arrays shaped like it (e.g. 1×28×28), or as one flat array. */
export type InputFormat = (typeof INPUT_FORMATS)[number];

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

export type EndpointProblem = 'unreachable' | 'timeout' | 'http_status' | 'redirect' | 'too_large' | 'too_deep' | 'not_json' | 'missing_field' | 'bad_scores';

/** A query the endpoint did not answer usably. `url` has no credentials. */
export class EndpointError extends GibbonError {
  constructor(
    code: ErrorCode,
    readonly url: string,
    readonly problem: EndpointProblem,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, { path: url }, options);
    this.name = 'EndpointError';
  }
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

/** Redirects within the endpoint's origin followed for one request. */
export const MAX_REDIRECTS = 5;
/** Bytes of an error response (HTTP 4xx/5xx) read for its excerpt. */
const ERROR_BODY_BYTES = 4096;

/** Node's timers hold at most 2³¹ − 1 ms (a longer delay fires at once, with a warning on stderr). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A Retry-After longer than this is cut to it (a retry that far away is an outage). */
const MAX_RETRY_AFTER_MS = 120_000;
/** Characters of an error response body quoted in messages. */
const BODY_EXCERPT = 200;

/** The URL for messages: no user name or password, and the query string (which may hold a key) elided. */
export function redactUrl(url: URL): string {
  const safe = new URL(url.href);
  safe.username = '';
  safe.password = '';
  const query = safe.search ? '?…' : '';
  safe.search = '';
  safe.hash = '';
  return `${safe.href}${query}`;
}

function option(condition: boolean, name: string, message: string): void {
  if (!condition) throw new GibbonError('invalid_option', `${name} ${message}`, { option: name });
}

const positiveInteger = optional(positiveIntegerRule).valid;

/** Seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header.trim());
  if (header.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - Date.now()), MAX_RETRY_AFTER_MS);
}

/** Why fetch threw: a timeout or a connection problem (with the system's code when there is one). */
function networkProblem(e: unknown, timeoutMs: number): { problem: 'timeout' | 'unreachable'; text: string } {
  const error = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (error?.name === 'TimeoutError') return { problem: 'timeout', text: `no complete answer within ${timeoutMs} ms` };
  const code = error?.cause?.code;
  return { problem: 'unreachable', text: `cannot connect${code ? ` (${code})` : `: ${error?.cause?.message ?? error?.message ?? String(e)}`}` };
}

/** Requests start at least `intervalMs` apart (a rate limit), whatever the concurrency. */
class RequestSpacing {
  private next = 0;

  constructor(private readonly intervalMs: number) {}

  async take(): Promise<void> {
    if (this.intervalMs <= 0) return;
    const now = performance.now();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    if (at > now) await sleep(at - now);
  }
}

interface ResolvedOptions {
  readonly method: 'POST' | 'PUT';
  readonly request: RequestMode;
  readonly maxBatch: number;
  readonly inputPath: JsonPath;
  readonly inputFormat: InputFormat;
  readonly body: Readonly<Record<string, unknown>>;
  readonly outputPath: JsonPath;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly concurrency: number;
  readonly maxResponseBytes: number;
}

export class HttpModel implements ClassifierModel {
  /** The endpoint's URL without credentials (for messages and reports). */
  readonly url: string;
  readonly outputs: OutputKind;
  /** True when the endpoint gives labels only: the model may back a decision oracle, never a score oracle. */
  readonly decisionOnly: boolean;
  readonly #target: URL;
  readonly #headers: Readonly<Record<string, string>>;
  /** The token, kept only to remove it from quoted response bodies. */
  readonly #token: string | undefined;
  readonly #options: ResolvedOptions;
  readonly #spacing: RequestSpacing;
  readonly #counts = { requests: 0, retries: 0, failures: 0 };

  private constructor(
    target: URL,
    headers: Record<string, string>,
    token: string | undefined,
    options: ResolvedOptions,
    outputs: OutputKind,
    rateLimit: number | undefined,
    readonly inputShape: readonly (number | null)[],
    readonly numClasses: number,
  ) {
    this.#target = target;
    this.url = redactUrl(target);
    this.#headers = headers;
    this.#token = token;
    this.#options = options;
    this.outputs = outputs;
    this.decisionOnly = outputs === 'label';
    this.#spacing = new RequestSpacing(rateLimit ? 1000 / rateLimit : 0);
  }

  /**
   * Checks the options, reads the auth token and, when `numClasses` is not given, asks the
   * endpoint about one all-zero example to learn it (one request, not charged to any oracle).
   */
  static async connect(options: HttpModelOptions): Promise<HttpModel> {
    let target: URL;
    try {
      target = new URL(options.url);
    } catch {
      throw new GibbonError('invalid_option', `url '${options.url}' is not a URL; write e.g. http://127.0.0.1:8080/predict`, { option: 'url' });
    }
    option(target.protocol === 'http:' || target.protocol === 'https:', 'url', `must be http:// or https://; got ${target.protocol}//`);
    const inputShape = checkInputShape(options.inputShape, 'inputShape');
    const outputs = options.outputs ?? DEFAULTS.outputs;
    option(OUTPUT_KINDS.includes(outputs), 'outputs', `must be one of ${OUTPUT_KINDS.join(', ')}; got ${String(outputs)}`);
    const method = options.method ?? DEFAULTS.method;
    option(method === 'POST' || method === 'PUT', 'method', `must be POST or PUT; got ${String(method)}`);
    const request = options.request ?? DEFAULTS.request;
    option(REQUEST_MODES.includes(request), 'request', `must be one of ${REQUEST_MODES.join(', ')}; got ${String(request)}`);
    const inputFormat = options.inputFormat ?? DEFAULTS.inputFormat;
    option(INPUT_FORMATS.includes(inputFormat), 'inputFormat', `must be one of ${INPUT_FORMATS.join(', ')}; got ${String(inputFormat)}`);
    option(positiveInteger(options.numClasses) && options.numClasses !== 1, 'numClasses', `must be an integer ≥ 2; got ${options.numClasses}`);
    option(
      outputs !== 'label' || options.numClasses !== undefined,
      'numClasses',
      `is needed with outputs 'label': a label-only endpoint cannot say how many classes there are`,
    );
    option(positiveInteger(options.maxBatch), 'maxBatch', `must be a positive integer; got ${options.maxBatch}`);
    option(positiveInteger(options.concurrency), 'concurrency', `must be a positive integer; got ${options.concurrency}`);
    option(
      positiveInteger(options.timeoutMs) && (options.timeoutMs ?? 0) <= MAX_TIMER_MS,
      'timeoutMs',
      `must be a positive integer up to ${MAX_TIMER_MS} (milliseconds); got ${options.timeoutMs}`,
    );
    option(positiveInteger(options.maxResponseBytes), 'maxResponseBytes', `must be a positive integer (bytes); got ${options.maxResponseBytes}`);
    option(
      options.retries === undefined || (Number.isInteger(options.retries) && options.retries >= 0),
      'retries',
      `must be an integer ≥ 0; got ${options.retries}`,
    );
    option(
      options.backoffMs === undefined || (Number.isFinite(options.backoffMs) && options.backoffMs >= 0 && options.backoffMs <= MAX_TIMER_MS),
      'backoffMs',
      `must be from 0 to ${MAX_TIMER_MS} (milliseconds); got ${options.backoffMs}`,
    );
    option(
      options.rateLimit === undefined || (Number.isFinite(options.rateLimit) && options.rateLimit > 0),
      'rateLimit',
      `must be a positive number of requests per second; got ${options.rateLimit}`,
    );
    const inputPath = parseJsonPath(options.inputPath ?? DEFAULTS.inputPath, 'inputPath', true);
    const outputPath = parseJsonPath(options.outputPath ?? DEFAULTS.outputPath, 'outputPath');

    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      option(typeof value === 'string', `headers.${name}`, `must be a text; got ${typeof value}`);
      headers[name.toLowerCase()] = value;
    }
    let token: string | undefined;
    if (options.auth) {
      const variable = options.auth.env;
      option(typeof variable === 'string' && variable.length > 0, 'auth.env', 'must name an environment variable');
      token = (options.env ?? process.env)[variable];
      if (token === undefined || token === '') {
        throw new GibbonError('invalid_option', `the environment variable ${variable} (auth.env) is not set; it must hold the token for ${redactUrl(target)}`, {
          option: 'auth.env',
        });
      }
      const scheme = options.auth.scheme ?? 'Bearer';
      headers[(options.auth.header ?? 'Authorization').toLowerCase()] = scheme ? `${scheme} ${token}` : token;
    }
    try {
      new Headers(headers);
    } catch (e) {
      throw new GibbonError('invalid_option', `headers are not valid HTTP headers: ${(e as Error).message.split(token ?? '\u0000').join('***')}`, {
        option: 'headers',
      });
    }
    const resolved: ResolvedOptions = {
      method,
      request,
      maxBatch: options.maxBatch ?? DEFAULTS.maxBatch,
      inputPath,
      inputFormat,
      body: options.body ?? {},
      outputPath,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      retries: options.retries ?? DEFAULTS.retries,
      backoffMs: options.backoffMs ?? DEFAULTS.backoffMs,
      concurrency: options.concurrency ?? DEFAULTS.concurrency,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULTS.maxResponseBytes,
    };
    let numClasses = options.numClasses;
    if (numClasses === undefined) {
      const probe = new HttpModel(target, headers, token, resolved, outputs, options.rateLimit, inputShape, 0);
      const zeros = new Float32Array(inputShape.slice(1).reduce<number>((a, d) => a * d!, 1));
      const answer = await probe.ask({ data: zeros, shape: [1, ...(inputShape.slice(1) as number[])] }, 0, 1, undefined);
      numClasses = answer.numClasses;
      if (numClasses < 2)
        throw probe.error('invalid_model', 'bad_scores', `answers with ${numClasses} class score(s) per example; a classifier has at least 2`);
      const model = new HttpModel(target, headers, token, resolved, outputs, options.rateLimit, inputShape, numClasses);
      model.#counts.requests = probe.#counts.requests;
      model.#counts.retries = probe.#counts.retries;
      return model;
    }
    return new HttpModel(target, headers, token, resolved, outputs, options.rateLimit, inputShape, numClasses);
  }

  get stats(): HttpModelStats {
    return { ...this.#counts };
  }

  /** Class logits (N, C): see the file comment for what they are per `outputs`. */
  async logits(x: Tensor): Promise<Tensor> {
    checkExamples(x, this.inputShape, 'x');
    const n = x.shape[0]!;
    const c = this.numClasses;
    const step = this.#options.request === 'single' ? 1 : this.#options.maxBatch;
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
    const workers = Array.from({ length: Math.min(this.#options.concurrency, chunks.length) }, worker);
    // Every request in flight ends before the first error surfaces, so none outlives the call.
    const settled = await Promise.allSettled(workers);
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    return { data: out, shape: [n, c] };
  }

  /** Nothing to free (connections are pooled by Node); for symmetry with OnnxModel. */
  async dispose(): Promise<void> {}

  private error(code: ErrorCode, problem: EndpointProblem, text: string, status?: number, cause?: unknown): EndpointError {
    return new EndpointError(code, this.url, problem, `endpoint ${this.url}: ${text}`, status, cause === undefined ? undefined : { cause });
  }

  /** Examples [start, end) as the request's input value (plain loops: Array.from is ~40× slower here). */
  private inputValue(x: Tensor, start: number, end: number): unknown {
    const dims = this.#options.inputFormat === 'flat' ? [x.data.length / x.shape[0]!] : x.shape.slice(1);
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
    if (this.#options.request === 'single') return nest(start * row, 0);
    const out = new Array<unknown>(end - start);
    for (let i = start; i < end; i++) out[i - start] = nest(i * row, 0);
    return out;
  }

  /** One query: the examples [start, end) of x, as logits (with the class count found). */
  private async ask(x: Tensor, start: number, end: number, numClasses: number | undefined): Promise<{ logits: Tensor; numClasses: number }> {
    const body = JSON.stringify(setJsonPath(this.#options.body, this.#options.inputPath, this.inputValue(x, start, end)));
    const answer = await this.send(body);
    const n = end - start;
    try {
      return this.readScores(answer, n, numClasses);
    } catch (e) {
      this.#counts.failures++;
      throw e;
    }
  }

  private readScores(answer: unknown, n: number, numClasses: number | undefined): { logits: Tensor; numClasses: number } {
    const path = this.#options.outputPath;
    let value: unknown;
    try {
      value = getJsonPath(answer, path);
    } catch (e) {
      if (!(e instanceof MissingFieldError)) throw e;
      const { found, missing, actual } = e.detail;
      throw this.error(
        'invalid_model',
        'missing_field',
        `the response has nothing at output path '${path.text}': no '${missing}' ${found ? `under '${found}'` : 'at the top level'}, which is ${actual}`,
      );
    }
    const single = this.#options.request === 'single';
    const fail = (message: string): EndpointError => this.error('invalid_model', 'bad_scores', `at output path '${path.text}': ${message}`);
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

  /** Quoted body text without the token. */
  private excerpt(text: string): string {
    let t = text.length > BODY_EXCERPT ? `${text.slice(0, BODY_EXCERPT)}…` : text;
    if (this.#token) t = t.split(this.#token).join('***');
    return JSON.stringify(t.trim());
  }

  /** Sends one request, retrying transient failures; returns the parsed JSON answer. */
  private async send(body: string): Promise<unknown> {
    const o = this.#options;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) this.#counts.retries++;
      await this.#spacing.take();
      this.#counts.requests++;
      let transient: { problem: EndpointProblem; text: string; status?: number; waitMs?: number; cause?: unknown };
      try {
        // One deadline for the whole attempt: redirects, headers and every byte of the body.
        const signal = AbortSignal.timeout(o.timeoutMs);
        const response = await this.fetchWithinOrigin(body, signal);
        if (response.ok) {
          const { bytes, over } = await readBody(response, o.maxResponseBytes);
          if (over) {
            this.#counts.failures++;
            throw this.error(
              'invalid_model',
              'too_large',
              `the answer is longer than ${o.maxResponseBytes} bytes (max_response_bytes); reading stopped there. A classifier's answer is small: raise max_response_bytes if this one is genuine`,
              response.status,
            );
          }
          const text = new TextDecoder().decode(bytes);
          try {
            return parseLenientJson(text);
          } catch (e) {
            this.#counts.failures++;
            if (e instanceof JsonAnswerError && e.kind === 'too_deep') {
              throw this.error('invalid_model', 'too_deep', `the answer is not class scores: ${e.message}`, response.status, e);
            }
            const type = response.headers.get('content-type');
            throw this.error(
              'invalid_model',
              'not_json',
              `the response is not JSON (HTTP ${response.status}${type ? `, ${type}` : ''}): ${this.excerpt(text)}`,
              response.status,
              e,
            );
          }
        }
        const text = new TextDecoder().decode((await readBody(response, ERROR_BODY_BYTES)).bytes);
        const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
        if (response.status !== 429 && response.status < 500) {
          this.#counts.failures++;
          const hint = response.status === 401 || response.status === 403 ? ' (check the auth token and headers)' : '';
          throw this.error('runtime_failure', 'http_status', `${status}${hint}: ${this.excerpt(text)}`, response.status);
        }
        transient = {
          problem: 'http_status',
          text: `${status}: ${this.excerpt(text)}`,
          status: response.status,
          waitMs: retryAfterMs(response.headers.get('retry-after')),
        };
      } catch (e) {
        if (e instanceof EndpointError) throw e;
        transient = { ...networkProblem(e, o.timeoutMs), cause: e };
      }
      if (attempt >= o.retries) {
        this.#counts.failures++;
        const tries = attempt + 1;
        const what = transient.problem === 'unreachable' ? 'unreachable' : transient.problem === 'timeout' ? 'timed out' : 'failed';
        throw this.error(
          'runtime_failure',
          transient.problem,
          `${what} after ${tries} attempt${tries > 1 ? 's' : ''} (${o.retries} retr${o.retries === 1 ? 'y' : 'ies'}): ${transient.text}`,
          transient.status,
          transient.cause,
        );
      }
      await sleep(Math.min(MAX_TIMER_MS, Math.max(o.backoffMs * 2 ** attempt, transient.waitMs ?? 0)));
    }
  }

  /**
   * fetch with redirects handled here, not by fetch: one within the endpoint's origin is followed
   * (at most MAX_REDIRECTS, as a browser would: 303, and 301/302 after a POST, become a GET without
   * body); one to another origin is refused, since following it would hand the inputs and the
   * auth header to a server the user never named. Returns the first response that is not a
   * redirect (or a 3xx without a Location, which the caller reports as an HTTP status).
   */
  private async fetchWithinOrigin(body: string, signal: AbortSignal): Promise<Response> {
    let url = this.#target;
    let method: string = this.#options.method;
    let payload: string | undefined = body;
    for (let hop = 0; ; hop++) {
      const response = await fetch(url, { method, headers: this.#headers, body: payload, signal, redirect: 'manual' });
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return response;
      await response.body?.cancel().catch(() => undefined);
      let next: URL | undefined;
      try {
        next = new URL(location, url);
      } catch {
        next = undefined;
      }
      if (next === undefined || next.origin !== this.#target.origin) {
        this.#counts.failures++;
        const where = next === undefined ? 'an address that is not a URL' : `another origin, ${describeOrigin(next)}`;
        throw this.error(
          'runtime_failure',
          'redirect',
          `redirected (HTTP ${response.status}) to ${where}; gibbon follows redirects only within ${this.#target.origin}, since following would send the inputs and the auth header to a server you did not name. If that server is the endpoint, set the url to it`,
          response.status,
        );
      }
      if (hop >= MAX_REDIRECTS) {
        this.#counts.failures++;
        throw this.error(
          'runtime_failure',
          'redirect',
          `redirected more than ${MAX_REDIRECTS} times (last to ${redactUrl(next)}); set the url to the final address`,
          response.status,
        );
      }
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        payload = undefined;
      }
      url = next;
    }
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** scheme://host:port of a URL, without credentials or path (for messages). */
function describeOrigin(url: URL): string {
  return url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host}`;
}

/**
 * The body of `response`, at most `limit` bytes: a longer body is cut there (`over`) and the rest
 * is never read. A Content-Length above the limit is believed without reading anything. Reading
 * ends with the request's signal (a timeout), which fetch applies to the body as well.
 */
async function readBody(response: Response, limit: number): Promise<{ bytes: Uint8Array; over: boolean }> {
  const stream = response.body;
  if (stream === null) return { bytes: new Uint8Array(0), over: false };
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await stream.cancel().catch(() => undefined);
    return { bytes: new Uint8Array(0), over: true };
  }
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      if (total + value.length > limit) {
        chunks.push(value.subarray(0, limit - total));
        total = limit;
        over = true;
        break;
      }
      chunks.push(value);
      total += value.length;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
  }
  return { bytes: Buffer.concat(chunks, total), over };
}
