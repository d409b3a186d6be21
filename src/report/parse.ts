/**
 * Validation of report.json against schema.ts. The zod schema mirrors the `Report` interface field
 * for field (a compile-time check below keeps the two in step); fields it does not know are kept,
 * so a reader of version 1 accepts files that later added optional fields. Parsing also fixes the
 * key order (the schema's order), which is what makes written files stable.
 */
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import { REPORT_SCHEMA_VERSION, type Report } from './schema.js';

const finite = z.number();
const count = z.number().int().nonnegative();
const fraction = z.number().min(0).max(1);

const modelSchema = z.looseObject({
  path: z.string(),
  sha256: z.string(),
  input_shape: z.array(z.number().int().nullable()),
  num_classes: count,
  outputs_probabilities: z.boolean(),
  non_differentiable_ops: z.array(z.looseObject({ node: z.string(), op_type: z.string() })),
});

const robustPointSchema = z.looseObject({ eps: finite, accuracy: fraction });

const attackSchema = z.looseObject({
  name: z.string(),
  eps: finite,
  accuracy: fraction,
  mean_norm: finite.nullable(),
  queries: count,
  steps: count,
  seconds: finite,
});

const checkSchema = z.looseObject({
  name: z.string(),
  passed: z.boolean(),
  detail: z.string(),
  advice: z.string().optional(),
});

const galleryItemSchema = z
  .looseObject({
    index: count,
    eps: finite,
    attack: z.string(),
    label: count,
    clean_prediction: count,
    clean_confidence: fraction,
    adversarial_prediction: count,
    adversarial_confidence: fraction,
    shape: z.array(z.number().int().positive()).length(3),
    clean: z.array(finite),
    adversarial: z.array(finite),
  })
  .superRefine((item, ctx) => {
    const [c, h, w] = item.shape as [number, number, number];
    if (c !== 1 && c !== 3)
      ctx.addIssue({ code: 'custom', path: ['shape'], message: `images must have 1 or 3 channels (C, H, W); got shape [${item.shape.join(', ')}]` });
    for (const key of ['clean', 'adversarial'] as const) {
      if (item[key].length !== c * h * w)
        ctx.addIssue({ code: 'custom', path: [key], message: `has ${item[key].length} pixels; shape [${item.shape.join(', ')}] needs ${c * h * w}` });
    }
  });

export const reportSchema = z.looseObject({
  schema_version: z.literal(REPORT_SCHEMA_VERSION),
  gibbon_version: z.string(),
  created: z.string(),
  model: modelSchema,
  threat_model: z.record(z.string(), z.unknown()),
  data: z.string(),
  n: count,
  seed: z.number().int(),
  clean_accuracy: fraction,
  robust_accuracy: z.array(robustPointSchema),
  attacks: z.array(attackSchema),
  masking_checks: z.array(checkSchema),
  gallery: z.array(galleryItemSchema),
  warnings: z.array(z.looseObject({ code: z.string(), message: z.string() })),
  seconds: finite,
  environment: z.looseObject({ node: z.string(), onnxruntime: z.string(), platform: z.string(), cpus: count, threads: count }),
  bounds: z.tuple([finite, finite]).optional(),
  class_names: z.array(z.string()).optional(),
});

// The schema must describe the interface: whatever it accepts is a Report (checked by the
// compiler here), and it names exactly the interface's top-level fields.
type Parsed = z.infer<typeof reportSchema>;
type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };
const parsedIsReport = (p: Parsed): Report => p;
const sameFields: [Exclude<KnownKeys<Parsed>, keyof Report>, Exclude<keyof Report, KnownKeys<Parsed>>] extends [never, never] ? true : false = true;
void parsedIsReport;
void sameFields;

/**
 * Checks that `value` is a report of the version this gibbon reads and returns it with its keys in
 * schema order. `where` names the source in messages (a path, or 'report' for an object in memory).
 */
export function parseReport(value: unknown, where = 'report'): Report {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GibbonError(
      'invalid_input',
      `${where} is not a gibbon report: expected a JSON object, found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
      { path: where },
    );
  }
  const version = (value as Record<string, unknown>)['schema_version'];
  if (version === undefined) {
    throw new GibbonError(
      'invalid_input',
      `${where} is not a gibbon report: it has no schema_version (this gibbon reads schema_version ${REPORT_SCHEMA_VERSION})`,
      { path: where },
    );
  }
  if (version !== REPORT_SCHEMA_VERSION) {
    const newer = typeof version === 'number' && version > REPORT_SCHEMA_VERSION;
    throw new GibbonError(
      'invalid_input',
      `${where} has schema_version ${JSON.stringify(version)}; this gibbon reads schema_version ${REPORT_SCHEMA_VERSION}` +
        (newer ? ' (the file was written by a newer gibbon: upgrade gibbon to read it)' : ''),
      { path: where },
    );
  }
  const result = reportSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5).map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    const more = result.error.issues.length > 5 ? ` (and ${result.error.issues.length - 5} more)` : '';
    throw new GibbonError('invalid_input', `${where} does not match report schema_version ${REPORT_SCHEMA_VERSION}: ${issues.join('; ')}${more}`, {
      path: where,
    });
  }
  const report = result.data as Report;
  if (report.class_names && report.class_names.length !== report.model.num_classes) {
    throw new GibbonError(
      'invalid_input',
      `${where}: class_names has ${report.class_names.length} names but model.num_classes is ${report.model.num_classes}`,
      { path: where },
    );
  }
  return report;
}

/** `gallery[2].clean[5]` style paths, as in the JSON file. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
