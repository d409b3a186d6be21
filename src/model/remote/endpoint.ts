/**
 * An HTTP model endpoint as it is written down: the one schema for it. A threat model's `endpoint`
 * section is this schema (snake_case, as the file format is; docs/remote-models.md has every field),
 * and `HttpModel.connect` checks its camelCase options with it too. What the schema returns is an
 * `Endpoint`, branded so that `HttpModel.open` takes only a checked one and checks nothing again.
 *
 * The limits are far above any sensible setting: beyond them a value is a mistake or an attack on
 * gibbon itself (a timer that overflows, an allocation that cannot succeed). Checks across fields
 * (`checkEndpointFields`) run after the schema, since a threat model reports its own checks first.
 */
import { z } from 'zod';
import { GibbonError } from '../../errors.js';
import { OUTPUT_KINDS } from './class-scores.js';
import { parseJsonPath } from './json-path.js';

export const REQUEST_MODES = ['batch', 'single'] as const;
/** One request with many examples, or one request per example. */
export type RequestMode = (typeof REQUEST_MODES)[number];

export const INPUT_FORMATS = ['nested', 'flat'] as const;
/** Each example as nested arrays shaped like it (e.g. 1×28×28), or as one flat array. */
export type InputFormat = (typeof INPUT_FORMATS)[number];

export const ENDPOINT_LIMITS = Object.freeze({
  /** timeout_ms and backoff_ms: one day (longer overflows Node's timers). */
  timeoutMs: 86_400_000,
  retries: 100,
  concurrency: 1024,
  maxBatch: 1_000_000,
  rateLimit: 1e6,
  /** max_response_bytes (a JavaScript string holds at most ~512 MiB). */
  maxResponseBytes: 256 * 1024 * 1024,
});
const L = ENDPOINT_LIMITS;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const finiteNumber = z.number().refine(Number.isFinite);

const endpointShape = z.strictObject({
  url: z.string().refine(isHttpUrl),
  method: z.enum(['POST', 'PUT']).optional(),
  request: z.enum(REQUEST_MODES).optional(),
  max_batch: z.number().int().positive().max(L.maxBatch).optional(),
  input_path: z.string().min(1).optional(),
  input_format: z.enum(INPUT_FORMATS).optional(),
  body: z.record(z.string(), z.unknown()).optional(),
  output_path: z.string().min(1).optional(),
  outputs: z.enum(OUTPUT_KINDS).optional(),
  num_classes: z.number().int().min(2).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  auth: z
    .strictObject({
      env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
      scheme: z.string().optional(),
      header: z.string().min(1).optional(),
    })
    .optional(),
  timeout_ms: z.number().int().positive().max(L.timeoutMs).optional(),
  retries: z.number().int().min(0).max(L.retries).optional(),
  backoff_ms: finiteNumber.refine((v) => v >= 0 && v <= L.timeoutMs).optional(),
  rate_limit: finiteNumber.refine((v) => v > 0 && v <= L.rateLimit).optional(),
  concurrency: z.number().int().positive().max(L.concurrency).optional(),
  max_response_bytes: z.number().int().positive().max(L.maxResponseBytes).optional(),
});

/** The endpoint schema; its output is a checked `Endpoint`. */
export const endpointSchema = endpointShape.brand<'CheckedEndpoint'>();

/** An endpoint the schema has accepted (absent fields take HttpModel's defaults). */
export type Endpoint = Readonly<z.output<typeof endpointSchema>>;

export const ENDPOINT_FIELDS: readonly string[] = Object.freeze(Object.keys(endpointShape.shape));
export const ENDPOINT_AUTH_FIELDS: readonly string[] = Object.freeze(['env', 'scheme', 'header']);

/** What a valid value of each field is, for messages (`headers.*`: any header). */
export const ENDPOINT_EXPECTED: Readonly<Record<string, string>> = Object.freeze({
  '': 'a mapping with url (and optionally request, input_path, output_path, outputs, auth, …; see docs/remote-models.md)',
  url: 'an http:// or https:// URL, e.g. http://127.0.0.1:8080/predict',
  method: 'one of POST, PUT',
  request: `one of ${REQUEST_MODES.join(', ')}`,
  max_batch: `a positive integer (examples per request in batch mode; at most ${L.maxBatch})`,
  input_path: 'object keys joined by dots, e.g. inputs or data.instances',
  input_format: `one of ${INPUT_FORMATS.join(', ')}`,
  body: 'a mapping of further request-body fields',
  output_path: 'a dotted path with indices or *, e.g. outputs, predictions.0.scores, predictions.*.scores',
  outputs: `one of ${OUTPUT_KINDS.join(', ')}`,
  num_classes: 'an integer ≥ 2',
  headers: 'a mapping of header names to texts',
  'headers.*': 'a text',
  auth: 'a mapping { env: VARIABLE, scheme: Bearer, header: Authorization }',
  'auth.env': 'the name of an environment variable holding the token, e.g. GIBBON_TOKEN',
  'auth.scheme': "a text put before the token, e.g. Bearer ('' for none)",
  'auth.header': 'a header name, e.g. Authorization',
  timeout_ms: `a positive integer (milliseconds per request, body included; at most ${L.timeoutMs})`,
  retries: `an integer ≥ 0 (at most ${L.retries})`,
  backoff_ms: `a number ≥ 0 (milliseconds; at most ${L.timeoutMs})`,
  rate_limit: `a positive number (requests per second; at most ${L.rateLimit})`,
  concurrency: `a positive integer (requests in flight; at most ${L.concurrency})`,
  max_response_bytes: `a positive integer (bytes of one answer; at most ${L.maxResponseBytes})`,
});

/**
 * The checks across fields, after the schema: a label-only endpoint must say its class count, the
 * URL must not hold credentials (they would be written into reports and messages), and the paths
 * must parse. `name` gives a field's name as the user wrote it; `fail` throws.
 */
export function checkEndpointFields(endpoint: Endpoint, name: (field: string) => string, fail: (field: string, message: string) => never): void {
  if ((endpoint.outputs ?? 'logits') === 'label' && endpoint.num_classes === undefined) {
    fail(name('num_classes'), `${name('num_classes')} is missing; a label-only endpoint (outputs: label) cannot say how many classes there are`);
  }
  const url = new URL(endpoint.url);
  if (url.username || url.password) {
    fail(
      name('url'),
      `${name('url')} holds credentials (user:password@), which would be written into reports; put the token in an environment variable named by ${name('auth')}.env`,
    );
  }
  for (const [field, text, keysOnly] of [
    ['input_path', endpoint.input_path, true],
    ['output_path', endpoint.output_path, false],
  ] as const) {
    if (text === undefined) continue;
    try {
      parseJsonPath(text, name(field), keysOnly);
    } catch (e) {
      fail(name(field), (e as Error).message);
    }
  }
}

/** The field's name as the library's options write it (max_batch → maxBatch). */
export function camelCaseName(field: string): string {
  return field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Checks an endpoint given as the library's camelCase options (`HttpModel.connect`), naming the
 * option in errors. Other keys of `options` (inputShape, env …) are not the endpoint's and are left out.
 */
export function endpointFromOptions(options: object): Endpoint {
  const given = options as Record<string, unknown>;
  const snake = Object.fromEntries(ENDPOINT_FIELDS.map((f) => [f, given[camelCaseName(f)]]).filter(([, v]) => v !== undefined));
  const fail = (field: string, message: string): never => {
    throw new GibbonError('invalid_option', message, { option: field });
  };
  const result = endpointSchema.safeParse(snake);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String);
    const option = path.map((p, i) => (i === 0 ? camelCaseName(p) : p)).join('.');
    const pattern = path.length > 1 && (path[0] === 'headers' || path[0] === 'body') ? `${path[0]}.*` : path.join('.');
    let value: unknown = snake;
    for (const p of path) value = (value as Record<string, unknown> | undefined)?.[p];
    const got = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
    fail(option, `${option} must be ${ENDPOINT_EXPECTED[pattern] ?? issue.message}; got ${got}`);
  }
  const endpoint = result.data!;
  checkEndpointFields(endpoint, camelCaseName, fail);
  return endpoint;
}
