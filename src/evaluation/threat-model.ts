/**
 * The threat model: what the attacker knows and may change, written down before any attack runs.
 * A YAML or JSON file (or a built-in preset) is validated with a zod schema; every error names
 * the field (`eps[2]`, `input.bounds`) and says what would be valid. Field names are snake_case
 * because this is a file format (like report.json).
 *
 * ```yaml
 * knowledge: white-box          # white-box | scores | decision | transfer
 * norm: linf                    # linf | l2
 * eps: [0.1, 0.2, 0.3]          # budgets, sorted and de-duplicated when read
 * targeted: false               # or { targets: random } or { targets: least-likely }
 * input:
 *   bounds: [0, 1]              # the input domain; every adversarial example stays inside
 *   shape: [1, 28, 28]          # one example, no batch dimension (optional; checked against the model)
 *   preprocessing: pixels / 255 # free text, recorded in the report
 * query_budget: 5000            # black-box knowledge only: queries per example and attack
 * surrogate: surrogate.onnx     # transfer knowledge only: the model the attacker differentiates
 * endpoint:                     # black-box knowledge only: the model is an HTTP endpoint, not a file
 *   url: http://127.0.0.1:8080/predict
 *   outputs: logits             # logits | probabilities | label (docs/remote-models.md has every field)
 * data: mnist-test              # or { x: x.npy, labels: y.npy } (paths relative to this file)
 * n: 1000                       # first n examples (default: all)
 * seed: 0
 * ```
 *
 * Targets of a targeted threat model are chosen per example: `random` draws a class other than the
 * label from a stream derived from (seed, example index), so every run and every resumed run picks
 * the same targets; `least-likely` takes the class with the lowest clean score. (Attacking every
 * class in turn is what the `apgd-t` attack does inside an untargeted evaluation.)
 *
 * With `endpoint`, the model under evaluation answers over HTTP (model/remote/http-model.ts):
 * it gives scores or decisions, never gradients, so white-box knowledge is refused, and a
 * label-only endpoint (`outputs: label`) allows decision knowledge only. `input.shape` is then
 * required (an endpoint cannot say what it expects). Fields the endpoint section leaves out take
 * HttpModel's defaults; the section is recorded in reports as written, so secrets belong in
 * `auth.env` (the name of an environment variable), never in `url` or `headers`.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import type { OracleKind } from '../model/oracles.js';
import { OUTPUT_KINDS, type OutputKind } from '../model/remote/class-scores.js';
import { INPUT_FORMATS, REQUEST_MODES, type HttpModelOptions, type InputFormat, type RequestMode } from '../model/remote/http-model.js';
import { parseJsonPath } from '../model/remote/json-path.js';
import type { NormName } from '../norms/norm.js';
import { checkChannelsFitModel, checkInputBounds } from './channel-bounds.js';

export const KNOWLEDGE = ['white-box', 'scores', 'decision', 'transfer'] as const;
/** What the attacker may ask: gradients, scores, decisions, or a surrogate's gradients plus decisions. */
export type Knowledge = (typeof KNOWLEDGE)[number];

export const TARGET_CHOICES = ['random', 'least-likely'] as const;
export type TargetChoice = (typeof TARGET_CHOICES)[number];

/** The data set name that needs no files: MNIST's test split, shipped with the package. */
export const MNIST_TEST = 'mnist-test';

/** Queries per example and attack when a black-box threat model does not say (Square's budget in AutoAttack). */
export const DEFAULT_QUERY_BUDGET = 5000;

export interface InputDomain {
  readonly bounds: readonly [number, number];
  /** One example's shape, without the batch dimension. */
  readonly shape?: readonly number[];
  readonly preprocessing?: string;
  /** Per-channel (axis 1) mean and standard deviation: the model takes (x − mean) / std of inputs x in bounds. */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** Per-channel (axis 1) bounds in raw units; bounds is then [0, 1], the unit space attacks run in (channel-bounds.ts). */
  readonly lower?: readonly number[];
  readonly upper?: readonly number[];
  /** With lower/upper: what ε means (written by gibbon, for reports). */
  readonly attack_space?: string;
}

/** How the model file is read (ONNX models only): its other inputs, the attacked input, the class-score output. */
export interface ModelInterface {
  /** The input attacked (default: the first float input). */
  readonly input?: string;
  /** Values of the other inputs: a number or an .npy path (resolved against the threat model's folder). */
  readonly feeds?: Readonly<Record<string, number | string>>;
  readonly output?: string;
  readonly output_reduce?: 'mean' | 'max' | 'flatten';
}

export type DataSource = typeof MNIST_TEST | { readonly x: string; readonly labels: string };

/** An HTTP model endpoint as a threat model writes it (snake_case; absent fields take HttpModel's defaults). */
export interface Endpoint {
  readonly url: string;
  readonly method?: 'POST' | 'PUT';
  readonly request?: RequestMode;
  readonly max_batch?: number;
  readonly input_path?: string;
  readonly input_format?: InputFormat;
  readonly body?: Readonly<Record<string, unknown>>;
  readonly output_path?: string;
  readonly outputs?: OutputKind;
  readonly num_classes?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly auth?: { readonly env: string; readonly scheme?: string; readonly header?: string };
  readonly timeout_ms?: number;
  readonly retries?: number;
  readonly backoff_ms?: number;
  /** Requests per second. */
  readonly rate_limit?: number;
  readonly concurrency?: number;
  /** Largest answer read, in bytes. */
  readonly max_response_bytes?: number;
}

export interface ThreatModel {
  /** A label for reports (presets: their name). */
  readonly name?: string;
  readonly knowledge: Knowledge;
  readonly norm: NormName;
  /** Budgets, increasing, without duplicates. */
  readonly eps: readonly number[];
  readonly targeted: false | { readonly targets: TargetChoice };
  readonly input: InputDomain;
  /** How the model file is read (several inputs, several or non-(N, C) outputs). */
  readonly model?: ModelInterface;
  /** Queries per example and attack (black-box knowledge only). */
  readonly query_budget?: number;
  /** Surrogate ONNX model (transfer knowledge only), resolved against the threat model's folder. */
  readonly surrogate?: string;
  /** The model as an HTTP endpoint (black-box knowledge only; instead of a model file). */
  readonly endpoint?: Endpoint;
  readonly data: DataSource;
  /** First n examples of the data (absent: all). */
  readonly n?: number;
  readonly seed: number;
}

/** Which oracles each kind of knowledge allows (transfer: gradients of the surrogate, decisions of the target). */
export const ALLOWED_ORACLES: Readonly<Record<Knowledge, readonly OracleKind[]>> = Object.freeze({
  'white-box': ['gradient', 'score', 'decision'],
  scores: ['score', 'decision'],
  decision: ['decision'],
  transfer: ['gradient', 'decision'],
});

const finiteNumber = z.number().refine(Number.isFinite);

/**
 * What a threat model may ask for, beyond which a value is a mistake or an attack on gibbon itself
 * (a run that never ends, an allocation that cannot succeed, a timer that overflows). Each is far
 * above any sensible setting.
 */
export const THREAT_MODEL_LIMITS = Object.freeze({
  /** Bytes of a threat-model file (one is a few hundred bytes). */
  fileBytes: 1024 * 1024,
  /** YAML aliases expanded while reading (a 'billion laughs' file expands exponentially). */
  yamlAliases: 100,
  /** Nesting of mappings and lists in the file. */
  depth: 32,
  /** |input.bounds|: inputs are float32, and a domain wider than this overflows its arithmetic. */
  bound: 1e30,
  /** A budget ε > 0 below this fraction of (upper − lower) is below float32 resolution of the domain. */
  relativeEps: 1e-7,
  /** Budgets per threat model. */
  epsCount: 100,
  /** Queries per example and attack. */
  queryBudget: 1e8,
  /** Examples. */
  n: 1e9,
  /** endpoint.timeout_ms and endpoint.backoff_ms: one day (longer overflows Node's timers). */
  timeoutMs: 86_400_000,
  retries: 100,
  concurrency: 1024,
  maxBatch: 1_000_000,
  rateLimit: 1e6,
  /** endpoint.max_response_bytes (a JavaScript string holds at most ~512 MiB). */
  maxResponseBytes: 256 * 1024 * 1024,
});
const L = THREAT_MODEL_LIMITS;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const endpointSchema = z.strictObject({
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

const ENDPOINT_FIELDS = Object.keys(endpointSchema.shape);

const schema = z.strictObject({
  name: z.string().min(1).optional(),
  knowledge: z.enum(KNOWLEDGE),
  norm: z.enum(['linf', 'l2']),
  eps: z
    .array(finiteNumber.refine((v) => v >= 0))
    .min(1)
    .max(L.epsCount),
  targeted: z.union([z.literal(false), z.strictObject({ targets: z.enum(TARGET_CHOICES) })]).default(false),
  input: z
    .strictObject({
      bounds: z
        .tuple([finiteNumber.refine((v) => Math.abs(v) <= L.bound), finiteNumber.refine((v) => Math.abs(v) <= L.bound)])
        .refine(([lo, hi]) => lo < hi)
        .optional(),
      lower: z
        .array(finiteNumber.refine((v) => Math.abs(v) <= L.bound))
        .min(1)
        .optional(),
      upper: z
        .array(finiteNumber.refine((v) => Math.abs(v) <= L.bound))
        .min(1)
        .optional(),
      attack_space: z.string().optional(),
      shape: z.array(z.number().int().positive()).min(1).optional(),
      preprocessing: z.string().optional(),
      mean: z.array(finiteNumber).min(1).optional(),
      std: z
        .array(finiteNumber.refine((v) => v > 0))
        .min(1)
        .optional(),
    })
    .default({ bounds: [0, 1] }),
  model: z
    .strictObject({
      input: z.string().min(1).optional(),
      feeds: z.record(z.string(), z.union([finiteNumber, z.string().min(1)])).optional(),
      output: z.string().min(1).optional(),
      output_reduce: z.enum(['mean', 'max', 'flatten']).optional(),
    })
    .optional(),
  query_budget: z.number().int().positive().max(L.queryBudget).optional(),
  surrogate: z.string().min(1).optional(),
  endpoint: endpointSchema.optional(),
  data: z.union([z.literal(MNIST_TEST), z.strictObject({ x: z.string().min(1), labels: z.string().min(1) })]),
  n: z.number().int().positive().max(L.n).optional(),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
});

/** What a valid value of each field is, for messages (array indices written as []). */
const EXPECTED: Readonly<Record<string, string>> = {
  '': 'a mapping (YAML) or object (JSON) of threat-model fields',
  name: 'a non-empty text',
  knowledge: `one of ${KNOWLEDGE.join(', ')}`,
  norm: 'one of linf, l2',
  eps: `a non-empty list of budgets ≥ 0 (at most ${L.epsCount}), e.g. [0.1, 0.2, 0.3]`,
  'eps[]': 'a finite number ≥ 0',
  targeted: `false, or { targets: ${TARGET_CHOICES.join(' | ')} }`,
  'targeted.targets': `one of ${TARGET_CHOICES.join(', ')}`,
  input: 'a mapping with bounds (and optionally shape, preprocessing)',
  'input.bounds': '[lower, upper] with finite lower < upper, e.g. [0, 1]',
  'input.bounds[]': `a number from -${L.bound} to ${L.bound} (inputs are float32)`,
  'input.shape': 'one example’s shape without the batch dimension, e.g. [1, 28, 28]',
  'input.shape[]': 'a positive integer',
  'input.preprocessing': 'a text saying how raw inputs were scaled, e.g. "pixels / 255"',
  'input.lower': 'per-channel lower bounds in raw units (with input.upper), e.g. [0, -100, 0]',
  'input.lower[]': `a number from -${L.bound} to ${L.bound}`,
  'input.upper': 'per-channel upper bounds in raw units (with input.lower), e.g. [1, 100, 5000]',
  'input.upper[]': `a number from -${L.bound} to ${L.bound}`,
  'input.mean': 'per-channel means subtracted before the model, e.g. [123.675, 116.28, 103.53]',
  'input.mean[]': 'a finite number',
  'input.std': 'per-channel standard deviations divided out before the model, e.g. [58.395, 57.12, 57.375]',
  'input.std[]': 'a finite number > 0',
  model: 'a mapping with input, feeds, output, output_reduce (how the model file is read)',
  'model.input': 'the name of the model input to attack',
  'model.feeds': 'a mapping of other input names to a number or an .npy path, e.g. { sr: 16000, state: state.npy }',
  'model.feeds.*': 'a number or the path of an .npy file',
  'model.output': 'the name of the output holding the class scores',
  'model.output_reduce': 'one of mean, max, flatten',
  query_budget: `a positive integer (queries per example and attack; at most ${L.queryBudget})`,
  surrogate: 'the path of the surrogate ONNX model',
  endpoint: 'a mapping with url (and optionally request, input_path, output_path, outputs, auth, …; see docs/remote-models.md)',
  'endpoint.url': 'an http:// or https:// URL, e.g. http://127.0.0.1:8080/predict',
  'endpoint.method': 'one of POST, PUT',
  'endpoint.request': `one of ${REQUEST_MODES.join(', ')}`,
  'endpoint.max_batch': `a positive integer (examples per request in batch mode; at most ${L.maxBatch})`,
  'endpoint.input_path': 'object keys joined by dots, e.g. inputs or data.instances',
  'endpoint.input_format': `one of ${INPUT_FORMATS.join(', ')}`,
  'endpoint.body': 'a mapping of further request-body fields',
  'endpoint.output_path': 'a dotted path with indices or *, e.g. outputs, predictions.0.scores, predictions.*.scores',
  'endpoint.outputs': `one of ${OUTPUT_KINDS.join(', ')}`,
  'endpoint.num_classes': 'an integer ≥ 2',
  'endpoint.headers': 'a mapping of header names to texts',
  'endpoint.headers.*': 'a text',
  'endpoint.auth': 'a mapping { env: VARIABLE, scheme: Bearer, header: Authorization }',
  'endpoint.auth.env': 'the name of an environment variable holding the token, e.g. GIBBON_TOKEN',
  'endpoint.auth.scheme': "a text put before the token, e.g. Bearer ('' for none)",
  'endpoint.auth.header': 'a header name, e.g. Authorization',
  'endpoint.timeout_ms': `a positive integer (milliseconds per request, body included; at most ${L.timeoutMs})`,
  'endpoint.retries': `an integer ≥ 0 (at most ${L.retries})`,
  'endpoint.backoff_ms': `a number ≥ 0 (milliseconds; at most ${L.timeoutMs})`,
  'endpoint.rate_limit': `a positive number (requests per second; at most ${L.rateLimit})`,
  'endpoint.concurrency': `a positive integer (requests in flight; at most ${L.concurrency})`,
  'endpoint.max_response_bytes': `a positive integer (bytes of one answer; at most ${L.maxResponseBytes})`,
  data: `${MNIST_TEST}, or { x: X.npy, labels: Y.npy }`,
  'data.x': 'the path of an .npy file of inputs',
  'data.labels': 'the path of an .npy file of integer labels',
  n: `a positive integer (the first n examples, at most ${L.n})`,
  seed: 'an integer from 0 to 4294967295',
};

export const THREAT_MODEL_FIELDS: readonly string[] = Object.freeze(Object.keys(schema.shape));

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function threatModelError(where: string, field: string, message: string, path?: string): GibbonError {
  return new GibbonError('invalid_threat_model', `threat model${where ? ` ${where}` : ''}: ${message}`, { path, option: field || undefined });
}

/** One zod issue as "field must be …; got …" (or "unknown field …"). */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): { field: string; text: string } {
  if (issue.code === 'unrecognized_keys') {
    const parent = fieldPath(issue.path);
    const field = parent ? `${parent}.${issue.keys[0]!}` : issue.keys[0]!;
    const parentShape =
      parent === 'input'
        ? ['bounds', 'shape', 'preprocessing', 'mean', 'std', 'lower', 'upper']
        : parent === 'model'
          ? ['input', 'feeds', 'output', 'output_reduce']
          : parent === 'targeted'
            ? ['targets']
            : parent === 'data'
              ? ['x', 'labels']
              : parent === 'endpoint'
                ? ENDPOINT_FIELDS
                : parent === 'endpoint.auth'
                  ? ['env', 'scheme', 'header']
                  : THREAT_MODEL_FIELDS;
    return { field, text: `unknown field '${field}'; valid fields${parent ? ` of ${parent}` : ''}: ${parentShape.join(', ')}` };
  }
  const field = fieldPath(issue.path);
  const pattern = issue.path.map((p, i) => (typeof p === 'number' ? '[]' : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
  // Record entries (endpoint.headers.X) share one description.
  const expected = EXPECTED[pattern] ?? EXPECTED[pattern.replace(/\.[^.[\]]+$/, '.*')] ?? issue.message;
  const value = valueAt(input, issue.path);
  if (value === undefined && field) return { field, text: `${field} is missing; it must be ${expected}` };
  return { field, text: `${field || 'the file'} must be ${expected}; got ${shown(value)}` };
}

/**
 * Validates a parsed threat model (a plain object from YAML/JSON or code). `where` names the
 * source in messages; relative data and surrogate paths are resolved against `baseDir`.
 */
export function validateThreatModel(input: unknown, where = '', options: { baseDir?: string; path?: string } = {}): ThreatModel {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => describeIssue(i, input));
    const first = issues[0]!;
    const more =
      issues.length > 1
        ? ` (and ${issues.length - 1} more: ${issues
            .slice(1, 3)
            .map((i) => i.field || 'file')
            .join(', ')}${issues.length > 3 ? ', …' : ''})`
        : '';
    throw threatModelError(where, first.field, `${first.text}${more}`, options.path);
  }
  const tm = result.data;
  const fail = (field: string, message: string): never => {
    throw threatModelError(where, field, message, options.path);
  };
  const checked = checkInputBounds(tm.input, fail);
  const [lower, upper] = checked.bounds;
  const range = upper - lower;
  const eps = [...new Set(tm.eps)].sort((a, b) => a - b);
  if (tm.norm === 'linf') {
    const i = tm.eps.findIndex((e) => e > range);
    if (i >= 0) {
      fail(
        `eps[${i}]`,
        `eps[${i}] = ${tm.eps[i]} is outside the input domain: an L∞ budget of ${range} (input.bounds [${lower}, ${upper}]) already allows every input; valid: 0 ≤ ε ≤ ${range}`,
      );
    }
  }
  const floor = L.relativeEps * range;
  const tiny = tm.eps.findIndex((e) => e > 0 && e < floor);
  if (tiny >= 0) {
    fail(
      `eps[${tiny}]`,
      `eps[${tiny}] = ${tm.eps[tiny]} is below what float32 inputs in [${lower}, ${upper}] can resolve; valid: 0, or ${floor.toPrecision(3)} ≤ ε ≤ ${range}`,
    );
  }
  const blackBox = tm.knowledge !== 'white-box';
  if (tm.query_budget !== undefined && !blackBox) {
    fail('query_budget', `query_budget applies to black-box knowledge (scores, decision, transfer), not white-box; remove it or change knowledge`);
  }
  if (tm.knowledge === 'transfer' && tm.surrogate === undefined) {
    fail('surrogate', `knowledge 'transfer' needs a surrogate: the path of the ONNX model whose gradients the attacker uses`);
  }
  if (tm.surrogate !== undefined && tm.knowledge !== 'transfer') {
    fail('surrogate', `surrogate is only used with knowledge 'transfer' (knowledge is '${tm.knowledge}')`);
  }
  if (tm.endpoint) checkEndpoint(tm, fail);
  if ((tm.input.mean === undefined) !== (tm.input.std === undefined)) {
    fail(tm.input.mean === undefined ? 'input.mean' : 'input.std', 'input.mean and input.std go together: the model takes (x − mean) / std');
  }
  if (tm.input.mean && tm.input.std && tm.input.mean.length !== tm.input.std.length) {
    fail('input.std', `input.std has ${tm.input.std.length} values but input.mean has ${tm.input.mean.length}; give one per channel`);
  }
  if (tm.model && tm.endpoint) fail('model', 'model describes how an ONNX file is read; an endpoint has no such file');
  const base = options.baseDir;
  const at = (p: string): string => (base && !isAbsolute(p) ? resolve(base, p) : p);
  const data: DataSource = tm.data === MNIST_TEST ? MNIST_TEST : { x: at(tm.data.x), labels: at(tm.data.labels) };
  const out: ThreatModel = {
    ...(tm.name !== undefined ? { name: tm.name } : {}),
    knowledge: tm.knowledge,
    norm: tm.norm,
    eps,
    targeted: tm.targeted === false ? false : { targets: tm.targeted.targets },
    input: {
      bounds: [lower, upper],
      ...(tm.input.shape ? { shape: [...tm.input.shape] } : {}),
      ...(tm.input.preprocessing !== undefined ? { preprocessing: tm.input.preprocessing } : {}),
      ...(tm.input.mean && tm.input.std ? { mean: [...tm.input.mean], std: [...tm.input.std] } : {}),
      ...checked.fields,
    },
    ...(tm.model
      ? {
          model: {
            ...tm.model,
            ...(tm.model.feeds ? { feeds: Object.fromEntries(Object.entries(tm.model.feeds).map(([k, v]) => [k, typeof v === 'string' ? at(v) : v])) } : {}),
          },
        }
      : {}),
    ...(blackBox ? { query_budget: tm.query_budget ?? DEFAULT_QUERY_BUDGET } : {}),
    ...(tm.surrogate !== undefined ? { surrogate: at(tm.surrogate) } : {}),
    ...(tm.endpoint ? { endpoint: tm.endpoint as Endpoint } : {}),
    data,
    ...(tm.n !== undefined ? { n: tm.n } : {}),
    seed: tm.seed,
  };
  return deepFreeze(out);
}

/** What an endpoint can answer must fit the knowledge, and the endpoint needs a declared input shape. */
function checkEndpoint(tm: z.infer<typeof schema>, fail: (field: string, message: string) => never): void {
  const endpoint = tm.endpoint!;
  if (tm.knowledge === 'white-box') {
    fail(
      'endpoint',
      `an endpoint gives scores or decisions, not gradients, so knowledge 'white-box' cannot be evaluated through it; use knowledge scores or decision, or evaluate the ONNX file`,
    );
  }
  const outputs = endpoint.outputs ?? 'logits';
  if (outputs === 'label' && tm.knowledge === 'scores') {
    fail('endpoint.outputs', `the endpoint gives labels only (outputs: label), which allows knowledge 'decision' (or 'transfer'), not 'scores'`);
  }
  if (outputs === 'label' && endpoint.num_classes === undefined) {
    fail('endpoint.num_classes', `endpoint.num_classes is missing; a label-only endpoint (outputs: label) cannot say how many classes there are`);
  }
  if (!tm.input.shape) {
    fail('input.shape', `input.shape is missing; with an endpoint it must give one example's shape (an endpoint cannot say what it expects), e.g. [1, 28, 28]`);
  }
  const url = new URL(endpoint.url);
  if (url.username || url.password) {
    fail(
      'endpoint.url',
      `endpoint.url holds credentials (user:password@), which would be written into reports; put the token in an environment variable named by endpoint.auth.env`,
    );
  }
  for (const [field, text, keysOnly] of [
    ['endpoint.input_path', endpoint.input_path, true],
    ['endpoint.output_path', endpoint.output_path, false],
  ] as const) {
    if (text === undefined) continue;
    try {
      parseJsonPath(text, field, keysOnly);
    } catch (e) {
      fail(field, (e as Error).message);
    }
  }
}

/** HttpModel options for a threat model's endpoint (input shape from input.shape). */
export function endpointModelOptions(tm: ThreatModel): HttpModelOptions {
  const e = tm.endpoint;
  if (!e || !tm.input.shape) throw new GibbonError('internal', 'endpointModelOptions needs a threat model with an endpoint and input.shape');
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return defined({
    url: e.url,
    method: e.method,
    inputShape: [null, ...tm.input.shape],
    numClasses: e.num_classes,
    request: e.request,
    maxBatch: e.max_batch,
    inputPath: e.input_path,
    inputFormat: e.input_format,
    body: e.body,
    outputPath: e.output_path,
    outputs: e.outputs,
    headers: e.headers,
    auth: e.auth,
    timeoutMs: e.timeout_ms,
    retries: e.retries,
    backoffMs: e.backoff_ms,
    rateLimit: e.rate_limit,
    concurrency: e.concurrency,
    maxResponseBytes: e.max_response_bytes,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Parses the text of a threat-model file: JSON for `.json`, YAML otherwise (YAML also reads JSON). */
export function parseThreatModel(text: string, where = '', options: { baseDir?: string; path?: string; json?: boolean } = {}): ThreatModel {
  let value: unknown;
  if (options.json) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw threatModelError(where, '', `is not valid JSON: ${(e as Error).message}`, options.path);
    }
  } else {
    const tooDeep = (): GibbonError =>
      threatModelError(where, '', `nests lists or mappings too deeply (a threat model is at most ${L.depth} levels deep)`, options.path);
    // The yaml library is super-linear in the depth of flow collections ({a: {a: …}}); one linear
    // scan refuses deep nesting before it parses.
    if (flowDepth(text) > 2 * L.depth) throw tooDeep();
    let doc: ReturnType<typeof parseDocument>;
    try {
      doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
    } catch (e) {
      if (e instanceof RangeError) throw tooDeep();
      throw e;
    }
    if (doc.errors.length > 0) {
      const error = doc.errors[0]!;
      if (/call stack/i.test(error.message)) throw tooDeep();
      const pos = error.linePos?.[0];
      const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw threatModelError(where, '', `is not valid YAML: ${message}${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}`, options.path);
    }
    try {
      value = doc.toJS({ maxAliasCount: L.yamlAliases });
    } catch (e) {
      if (e instanceof RangeError) throw tooDeep();
      // The yaml library stops expanding aliases past maxAliasCount (a "billion laughs" file).
      if (e instanceof ReferenceError && /excessive alias count/i.test(e.message)) {
        throw threatModelError(
          where,
          '',
          `expands YAML aliases (*name) more than ${L.yamlAliases} times, as a "billion laughs" file does; write the values out instead`,
          options.path,
        );
      }
      throw threatModelError(where, '', `is not valid YAML: ${(e as Error).message}`, options.path);
    }
  }
  if (value === null || value === undefined) throw threatModelError(where, '', `is empty; it must be ${EXPECTED['']!}`, options.path);
  if (nestingDepth(value) > L.depth) {
    throw threatModelError(where, '', `nests lists or mappings more than ${L.depth} levels deep; a threat model needs a few`, options.path);
  }
  return validateThreatModel(value, where, options);
}

/** The deepest nesting of flow brackets ([ and {) outside quoted strings and comments, in one pass. */
function flowDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    // A quote opens a quoted scalar only where a token starts (not the apostrophe in it's).
    if ((c === '"' || c === "'") && (i === 0 || /[\s:,[{]/.test(text[i - 1]!))) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return deepest;
}

/** How deeply arrays and objects nest in `value` (0 for a scalar), without recursion. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, d + 1);
    if (deepest > L.depth) return deepest;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** The text of a file of at most `limit` bytes (read no further, whatever its size says: it may be a device or still growing). */
function readSmallFile(path: string, limit: number): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > limit) return undefined;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** Reads a threat-model file (YAML or JSON). */
export function readThreatModel(path: string): ThreatModel {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `threat model file not found: ${path}`, { path });
  const stat = statSync(path);
  if (stat.isDirectory()) throw new GibbonError('invalid_threat_model', `${path} is a directory, not a threat-model file`, { path });
  if (!stat.isFile())
    throw new GibbonError('invalid_threat_model', `${path} is not a regular file (a device, pipe or socket); a threat model is a YAML or JSON file`, { path });
  const text = stat.size <= L.fileBytes ? readSmallFile(path, L.fileBytes) : undefined;
  if (text === undefined) {
    throw new GibbonError(
      'invalid_threat_model',
      `${path} is larger than ${L.fileBytes / 1024 / 1024} MiB (${stat.size} bytes); a threat model is a short YAML or JSON file`,
      { path },
    );
  }
  return parseThreatModel(text, path, { baseDir: dirname(resolve(path)), path, json: extname(path).toLowerCase() === '.json' });
}

const MNIST_INPUT: InputDomain = { bounds: [0, 1], shape: [1, 28, 28], preprocessing: 'pixels / 255 (MNIST IDX bytes); no mean/std normalisation' };

function preset(name: string, norm: NormName, eps: number[]): [string, ThreatModel] {
  return [
    name,
    validateThreatModel({ name, knowledge: 'white-box', norm, eps, targeted: false, input: MNIST_INPUT, data: MNIST_TEST, n: 1000, seed: 0 }, `preset ${name}`),
  ];
}

/** Built-in threat models: white-box, untargeted, the first 1000 MNIST test images, seed 0. */
export const THREAT_MODEL_PRESETS: ReadonlyMap<string, ThreatModel> = new Map([
  // Madry et al. 2018's MNIST budget, with two smaller budgets for the curve.
  preset('mnist-linf-0.3', 'linf', [0.1, 0.2, 0.3]),
  preset('mnist-linf-0.1', 'linf', [0.05, 0.1]),
  // Common L2 budgets for MNIST (e.g. Croce & Hein 2020 report ε = 2).
  preset('mnist-l2-2.0', 'l2', [0.5, 1, 1.5, 2]),
]);

export const DEFAULT_THREAT_MODEL = 'mnist-linf-0.3';

/** A preset by name, or else a file; errors list the presets. */
export function loadThreatModel(presetOrFile: string): ThreatModel {
  const found = THREAT_MODEL_PRESETS.get(presetOrFile);
  if (found) return found;
  if (!existsSync(presetOrFile)) {
    throw new GibbonError(
      'file_not_found',
      `'${presetOrFile}' is neither a threat-model preset (${[...THREAT_MODEL_PRESETS.keys()].join(', ')}) nor an existing file`,
      { path: presetOrFile, option: 'threat' },
    );
  }
  return readThreatModel(presetOrFile);
}

/** The threat model with some fields replaced (e.g. from the command line), validated again. */
export function withOverrides(tm: ThreatModel, overrides: { n?: number; data?: DataSource; seed?: number }, where = 'command line'): ThreatModel {
  const merged = { ...tm, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  return validateThreatModel(merged, where);
}

/** What the model-dependent checks need to know. */
export interface ModelFacts {
  /** Input shape with the batch dimension first (null: dynamic). */
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
}

/**
 * Checks the threat model against a model: input.shape must be the model's example shape, and an
 * L2 budget must not exceed the diameter of the input domain.
 */
export function checkThreatModelFitsModel(tm: ThreatModel, model: ModelFacts, modelPath: string): void {
  const where = tm.name ? `'${tm.name}'` : '';
  const modelShape = model.inputShape.slice(1);
  const shape = tm.input.shape;
  if (shape) {
    const fits = shape.length === modelShape.length && shape.every((d, i) => modelShape[i] === null || modelShape[i] === d);
    if (!fits) {
      throw threatModelError(
        where,
        'input.shape',
        `input.shape [${shape.join(', ')}] does not fit ${modelPath}, whose input is [N, ${modelShape.map((d) => d ?? '?').join(', ')}]`,
      );
    }
  }
  checkChannelsFitModel(tm.input, model.inputShape, modelPath);
  if (tm.norm === 'l2') {
    const dims = (shape ?? modelShape).reduce<number>((a, d) => a * (d ?? 1), 1);
    const [lower, upper] = tm.input.bounds;
    const diameter = (upper - lower) * Math.sqrt(dims);
    const i = tm.eps.findIndex((e) => e > diameter);
    if (i >= 0) {
      throw threatModelError(
        where,
        `eps[${i}]`,
        `eps[${i}] = ${tm.eps[i]} is outside the input domain: the largest L2 distance between two inputs of ${dims} values in [${lower}, ${upper}] is ${diameter.toPrecision(4)}; valid: 0 ≤ ε ≤ ${diameter.toPrecision(4)}`,
      );
    }
  }
}

/** The threat model as a plain JSON object (for report.json and checkpoints). */
export function threatModelRecord(tm: ThreatModel): Record<string, unknown> {
  return JSON.parse(JSON.stringify(tm)) as Record<string, unknown>;
}
