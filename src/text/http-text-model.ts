/**
 * A text classifier behind an HTTP endpoint, as a black-box `TextClassifier`.
 *
 * Wire format: `POST <url>` with `Content-Type: application/json` and the body
 * `{"texts": ["first text", "second text"]}` (at most `maxBatch` texts per request); the answer is
 * `{"scores": [[s0, s1], [s0, s1]]}`, one row of class scores per text in order (logits, or
 * probabilities with `outputs: 'probabilities'`). The transport is model/remote/http-client.ts:
 * timeouts, retries with backoff on network errors, 429 and 5xx, no redirect to another origin, a
 * cap on the answer's size and nesting, and an error (never a made-up answer) when a query fails.
 * An auth token is read from the environment variable `tokenEnv` and sent as `Authorization:
 * Bearer <token>`.
 */
import { GibbonError } from '../errors.js';
import { EndpointClient } from '../model/remote/http-client.js';
import type { TextClassifier } from './classifier.js';
import { checkClassCount, textScoreRows } from './function-text-model.js';

export interface HttpTextModelOptions {
  readonly url: string;
  readonly classes: number;
  readonly labels?: readonly string[];
  readonly outputs?: 'logits' | 'probabilities';
  /** Texts per request (default 64). */
  readonly maxBatch?: number;
  /** Per attempt (default 30 000 ms). */
  readonly timeoutMs?: number;
  /** Retries of a transient failure (default 3). */
  readonly retries?: number;
  /** First backoff (default 500 ms), doubled per retry. */
  readonly backoffMs?: number;
  /** Largest answer read (default 8 MiB). */
  readonly maxResponseBytes?: number;
  /** Largest request body sent (default 8 MiB): a batch of texts too large to send is an error before sending. */
  readonly maxRequestBytes?: number;
  /** Requests per second (default: no limit). */
  readonly rateLimit?: number;
  /** Environment variable holding a bearer token. */
  readonly tokenEnv?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class HttpTextModel implements TextClassifier {
  readonly classes: number;
  readonly labels?: readonly string[];
  readonly client: EndpointClient;
  private readonly maxBatch: number;
  private readonly maxRequestBytes: number;
  private readonly outputs: 'logits' | 'probabilities';

  constructor(o: HttpTextModelOptions) {
    checkClassCount(o.classes, o.labels);
    let target: URL;
    try {
      target = new URL(o.url);
    } catch {
      throw new GibbonError('invalid_option', `url ${JSON.stringify(o.url)} is not a URL`, { option: 'url' });
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw new GibbonError('invalid_option', `url must be http or https; got ${target.protocol}`, { option: 'url' });
    const positive = (name: string, v: number | undefined, fallback: number): number => {
      const x = v ?? fallback;
      if (!Number.isFinite(x) || x < 0 || (name !== 'retries' && x === 0))
        throw new GibbonError('invalid_option', `${name} must be a positive number; got ${x}`, { option: name });
      return x;
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    let token: string | undefined;
    if (o.tokenEnv) {
      token = (o.env ?? process.env)[o.tokenEnv];
      if (!token)
        throw new GibbonError('invalid_option', `the environment variable ${o.tokenEnv} is not set; it must hold the token for ${target.origin}`, {
          option: 'tokenEnv',
        });
      headers.authorization = `Bearer ${token}`;
    }
    this.client = new EndpointClient({
      target,
      method: 'POST',
      headers,
      token,
      timeoutMs: positive('timeoutMs', o.timeoutMs, 30_000),
      retries: Math.floor(positive('retries', o.retries, 3)),
      backoffMs: positive('backoffMs', o.backoffMs, 500),
      maxResponseBytes: positive('maxResponseBytes', o.maxResponseBytes, 8 * 1024 * 1024),
      rateLimit: o.rateLimit,
    });
    this.classes = o.classes;
    if (o.labels) this.labels = [...o.labels];
    this.outputs = o.outputs ?? 'logits';
    this.maxBatch = Math.floor(positive('maxBatch', o.maxBatch, 64));
    this.maxRequestBytes = positive('maxRequestBytes', o.maxRequestBytes, 8 * 1024 * 1024);
  }

  async scores(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.maxBatch) {
      const batch = texts.slice(start, start + this.maxBatch);
      const body = JSON.stringify({ texts: batch });
      const bytes = Buffer.byteLength(body);
      if (bytes > this.maxRequestBytes) {
        throw new GibbonError(
          'invalid_input',
          `a request of ${batch.length} texts would be ${bytes} bytes, more than maxRequestBytes (${this.maxRequestBytes}); lower maxBatch`,
          {
            option: 'maxRequestBytes',
          },
        );
      }
      const answer = await this.client.send(body);
      const fail = (m: string): Error => this.client.error('invalid_model', 'bad_scores', m);
      if (typeof answer !== 'object' || answer === null || !('scores' in answer)) {
        throw this.client.error('invalid_model', 'missing_field', 'the answer has no "scores" field (expected {"scores": [[…], …]})');
      }
      out.push(...textScoreRows((answer as { scores: unknown }).scores, batch.length, this.classes, this.outputs, fail));
    }
    return out;
  }
}
