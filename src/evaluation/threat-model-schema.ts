/**
 * What a threat model is: its types, the zod schema of the file format with its limits, and what a
 * valid value of each field is, so that every error names the field (`eps[2]`, `input.bounds`)
 * and says what would be valid. The endpoint section is model/remote/endpoint.ts's schema.
 */
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import type { OracleKind } from '../model/oracles.js';
import { ENDPOINT_AUTH_FIELDS, ENDPOINT_EXPECTED, ENDPOINT_FIELDS, ENDPOINT_LIMITS, endpointSchema, type Endpoint } from '../model/remote/endpoint.js';
import type { NormName } from '../norms/norm.js';

export type { Endpoint } from '../model/remote/endpoint.js';

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
  /** The endpoint section's limits (model/remote/endpoint.ts). */
  ...ENDPOINT_LIMITS,
});
const L = THREAT_MODEL_LIMITS;

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

/** A threat model as the schema returns it, before the checks across fields. */
export type ThreatModelFields = z.output<typeof schema>;

/** What a threat-model file must hold as a whole. */
export const WHOLE_FILE = 'a mapping (YAML) or object (JSON) of threat-model fields';

/** What a valid value of each field is, for messages (array indices written as []). */
const EXPECTED: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(ENDPOINT_EXPECTED).map(([field, text]) => [field ? `endpoint.${field}` : 'endpoint', text])),
  '': WHOLE_FILE,
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

export function threatModelError(where: string, field: string, message: string, path?: string): GibbonError {
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
                  ? ENDPOINT_AUTH_FIELDS
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

/** The fields of a threat model, checked one by one; the first problem is thrown naming its field (and how many more there are). */
export function checkedFields(input: unknown, where: string, path: string | undefined): ThreatModelFields {
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
    throw threatModelError(where, first.field, `${first.text}${more}`, path);
  }
  return result.data;
}
