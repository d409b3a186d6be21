/**
 * The HTTP side of an endpoint: one JSON request in, the parsed JSON answer out, with retries,
 * redirects, time and size limits. HttpModel (http-model.ts) builds the requests and reads the
 * answers; this file only moves them.
 *
 * Network errors, timeouts, HTTP 5xx and 429 are retried `retries` times with exponential backoff
 * (honouring Retry-After); HTTP 4xx and malformed answers are not. A request that still fails
 * raises an `EndpointError`: a failed query is never taken for an answer.
 *
 * The endpoint is not trusted: a redirect to another origin (scheme, host, port) is never followed,
 * because following it would send the token and the inputs there (it fails naming both origins);
 * a redirect within the origin is followed at most `MAX_REDIRECTS` times. The answer's body is read
 * up to `maxResponseBytes` (reading stops there), within the same `timeoutMs` as the headers (a
 * server that trickles or streams forever times out), and parsed in linear time with its nesting
 * depth bounded (lenient-json.ts). Such answers are malformed, not transient: they are not retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GibbonError, type ErrorCode } from '../../errors.js';
import { JsonAnswerError, parseLenientJson } from './lenient-json.js';

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
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

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

/** scheme://host:port of a URL, without credentials or path (for messages). */
function describeOrigin(url: URL): string {
  return url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host}`;
}

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

export interface ClientSettings {
  readonly target: URL;
  readonly method: 'POST' | 'PUT';
  readonly headers: Readonly<Record<string, string>>;
  /** The auth token, kept only to remove it from quoted response bodies. */
  readonly token: string | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxResponseBytes: number;
  /** Requests per second (undefined: no limit). */
  readonly rateLimit: number | undefined;
}

/** Sends requests to one endpoint and counts them. */
export class EndpointClient {
  /** The endpoint's URL without credentials (for messages and reports). */
  readonly url: string;
  /** Requests sent (retries included), requests that repeated a failed one, queries failed for good. */
  readonly counts = { requests: 0, retries: 0, failures: 0 };
  readonly #spacing: RequestSpacing;

  constructor(private readonly settings: ClientSettings) {
    this.url = redactUrl(settings.target);
    this.#spacing = new RequestSpacing(settings.rateLimit ? 1000 / settings.rateLimit : 0);
  }

  error(code: ErrorCode, problem: EndpointProblem, text: string, status?: number, cause?: unknown): EndpointError {
    return new EndpointError(code, this.url, problem, `endpoint ${this.url}: ${text}`, status, cause === undefined ? undefined : { cause });
  }

  /** Quoted body text without the token. */
  private excerpt(text: string): string {
    let t = text.length > BODY_EXCERPT ? `${text.slice(0, BODY_EXCERPT)}…` : text;
    if (this.settings.token) t = t.split(this.settings.token).join('***');
    return JSON.stringify(t.trim());
  }

  /** Sends one request, retrying transient failures; returns the parsed JSON answer. */
  async send(body: string): Promise<unknown> {
    const o = this.settings;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) this.counts.retries++;
      await this.#spacing.take();
      this.counts.requests++;
      let transient: { problem: EndpointProblem; text: string; status?: number; waitMs?: number; cause?: unknown };
      try {
        // One deadline for the whole attempt: redirects, headers and every byte of the body.
        const signal = AbortSignal.timeout(o.timeoutMs);
        const response = await this.fetchWithinOrigin(body, signal);
        if (response.ok) return await this.parseAnswer(response);
        const text = new TextDecoder().decode((await readBody(response, ERROR_BODY_BYTES)).bytes);
        const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
        if (response.status !== 429 && response.status < 500) {
          this.counts.failures++;
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
        this.counts.failures++;
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

  /** The JSON of a successful answer, read up to maxResponseBytes; too long, too deep or not JSON is a malformed answer. */
  private async parseAnswer(response: Response): Promise<unknown> {
    const limit = this.settings.maxResponseBytes;
    const { bytes, over } = await readBody(response, limit);
    if (over) {
      this.counts.failures++;
      throw this.error(
        'invalid_model',
        'too_large',
        `the answer is longer than ${limit} bytes (max_response_bytes); reading stopped there. A classifier's answer is small: raise max_response_bytes if this one is genuine`,
        response.status,
      );
    }
    const text = new TextDecoder().decode(bytes);
    try {
      return parseLenientJson(text);
    } catch (e) {
      this.counts.failures++;
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

  /**
   * fetch with redirects handled here, not by fetch: one within the endpoint's origin is followed
   * (at most MAX_REDIRECTS, as a browser would: 303, and 301/302 after a POST, become a GET without
   * body); one to another origin is refused, since following it would hand the inputs and the
   * auth header to a server the user never named. Returns the first response that is not a
   * redirect (or a 3xx without a Location, which the caller reports as an HTTP status).
   */
  private async fetchWithinOrigin(body: string, signal: AbortSignal): Promise<Response> {
    const target = this.settings.target;
    let url = target;
    let method: string = this.settings.method;
    let payload: string | undefined = body;
    for (let hop = 0; ; hop++) {
      const response = await fetch(url, { method, headers: this.settings.headers, body: payload, signal, redirect: 'manual' });
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return response;
      await response.body?.cancel().catch(() => undefined);
      let next: URL | undefined;
      try {
        next = new URL(location, url);
      } catch {
        next = undefined;
      }
      if (next === undefined || next.origin !== target.origin) {
        this.counts.failures++;
        const where = next === undefined ? 'an address that is not a URL' : `another origin, ${describeOrigin(next)}`;
        throw this.error(
          'runtime_failure',
          'redirect',
          `redirected (HTTP ${response.status}) to ${where}; gibbon follows redirects only within ${target.origin}, since following would send the inputs and the auth header to a server you did not name. If that server is the endpoint, set the url to it`,
          response.status,
        );
      }
      if (hop >= MAX_REDIRECTS) {
        this.counts.failures++;
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
