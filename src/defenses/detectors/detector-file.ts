/**
 * detector.json: a fitted, calibrated detector, tied to the model it was fitted on.
 *
 * It records the model's fingerprint (SHA-256 of the model file's bytes) so that a detector is
 * never applied to another model; the detector's kind and parameters (Mahalanobis means and
 * precision, squeezers, combined parts with their standardisation); the threshold τ ("flag when
 * s > τ"), the target false-positive rate it was set for and the rate reached on the calibration
 * data; and where the fitting and calibration data came from (never test data). Reading validates
 * the file with zod; errors name the file and the field.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { GibbonError } from '../../errors.js';
import { serializeModel, type ModelIR } from '../../onnx/model.js';
import { writeFileAtomically } from '../../storage/atomic-write.js';
import type { DetectorParams } from './score-context.js';

export const DETECTOR_FORMAT = 'gibbon-detector';
export const DETECTOR_FORMAT_VERSION = 1;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const matrix = z.array(z.array(finite).min(1)).min(1);

const mspSchema = z.strictObject({ kind: z.literal('msp') });
const energySchema = z.strictObject({ kind: z.literal('energy'), temperature: finite.refine((t) => t > 0, 'must be > 0') });
const mahalanobisSchema = z.strictObject({
  kind: z.literal('mahalanobis'),
  features: z.string().min(1),
  means: matrix,
  precision: matrix,
  shrinkage: finite,
});
const squeezeSchema = z.strictObject({ kind: z.literal('squeeze'), squeezers: z.array(z.string().min(1)).min(1) });
const singleSchema = z.discriminatedUnion('kind', [mspSchema, energySchema, mahalanobisSchema, squeezeSchema]);
const combinedSchema = z.strictObject({
  kind: z.literal('combined'),
  parts: z.array(z.strictObject({ detector: singleSchema, mean: finite, std: finite.refine((s) => s > 0, 'must be > 0') })).min(1),
});
const detectorSchema = z.discriminatedUnion('kind', [mspSchema, energySchema, mahalanobisSchema, squeezeSchema, combinedSchema]);

const fileSchema = z.strictObject({
  format: z.literal(DETECTOR_FORMAT),
  version: z.literal(DETECTOR_FORMAT_VERSION),
  gibbon_version: z.string(),
  model: z.strictObject({
    /** As given on the command line when fitting (informational; the fingerprint decides). */
    path: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
    input: z.string(),
    num_classes: z.number().int().min(2),
  }),
  detector: detectorSchema,
  /** How the features were chosen (Mahalanobis), for reports. */
  features_choice: z.string().optional(),
  threshold: finite,
  target_fpr: finite.refine((v) => v >= 0 && v < 1, 'must be in [0, 1)'),
  calibration: z.strictObject({
    data: z.string(),
    seed: z.number().int().min(0),
    fit_examples: z.number().int().min(0),
    calibration_examples: z.number().int().min(1),
    /** Fraction of calibration examples flagged at the threshold. */
    fpr: finite,
    score_mean: finite,
    score_std: finite,
  }),
});

export type DetectorFile = Omit<z.infer<typeof fileSchema>, 'detector'> & { readonly detector: DetectorParams };

/** The model's fingerprint: SHA-256 of its file bytes (or of its serialisation, for an in-memory model). */
export function modelFingerprint(model: ModelIR): string {
  return model.sha256 ?? createHash('sha256').update(serializeModel(model)).digest('hex');
}

export function parseDetectorFile(input: unknown, where: string, path?: string): DetectorFile {
  const result = fileSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(top level)';
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
    throw new GibbonError('invalid_input', `${where} is not a valid gibbon detector file: ${field}: ${issue.message}${more}`, { path, option: 'detector' });
  }
  return result.data as DetectorFile;
}

export function readDetectorFile(path: string): DetectorFile {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `detector file not found: ${path}`, { path, option: 'detector' });
  if (statSync(path).isDirectory()) throw new GibbonError('invalid_input', `${path} is a directory, not a detector .json file`, { path, option: 'detector' });
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new GibbonError(
      'invalid_input',
      `${path} is not JSON (${(e as Error).message}); give the detector.json written by gibbon detect fit`,
      { path, option: 'detector' },
      { cause: e },
    );
  }
  return parseDetectorFile(json, path, path);
}

export function writeDetectorFile(path: string, file: DetectorFile): void {
  writeFileAtomically(path, `${JSON.stringify(file)}\n`);
}

/** Refuses a detector fitted on another model; the message names both files and fingerprints. */
export function checkDetectorFitsModel(file: DetectorFile, model: ModelIR, detectorPath: string, modelPath: string): void {
  const sha = modelFingerprint(model);
  if (file.model.sha256 !== sha) {
    throw new GibbonError(
      'invalid_input',
      `detector ${detectorPath} was fitted on another model (${file.model.path}, sha256 ${file.model.sha256.slice(0, 12)}…), not on ${modelPath} (sha256 ${sha.slice(0, 12)}…); fit one for this model with gibbon detect fit ${modelPath}`,
      { path: detectorPath, option: 'detector' },
    );
  }
}
