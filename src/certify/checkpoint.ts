/**
 * A certification run's checkpoint: OUT/certification-checkpoint.json holds what identifies the
 * run (its fingerprint) and the record of every example certified so far. It is rewritten through
 * a temporary file and a rename after each example, so a run killed at any point leaves either the
 * previous or the next complete file. A resumed run certifies only the missing examples; because
 * each example's noise comes from a generator derived from (seed, example index), the records
 * are those of an uninterrupted run.
 *
 * Read back, every record is checked (zod schema, an example index of the run, a `correct` that
 * agrees with the prediction and label, no example twice) against its checksum (SHA-256 of the
 * fingerprint and the record, format 2); a record that fails is dropped and described in
 * `damaged`, and the resumed run certifies that example again.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { firstIssue, readRecordCheckpoint, writeRecordCheckpoint, type RecordCheckpoint } from '../storage/checkpoint-file.js';
import type { CertifiedExample } from './result.js';

export { fingerprintChanges } from '../storage/checkpoint-file.js';

export const CERTIFICATION_CHECKPOINT_FILE = 'certification-checkpoint.json';
const FORMAT = 'gibbon-certification-checkpoint';
/** 2: records have checksums (format 1 is still read, its records checked by the schema only). */
const VERSION = 2;

export interface CertificationCheckpoint extends RecordCheckpoint<CertifiedExample> {
  readonly format: typeof FORMAT;
  /** What the run is: a resumed run must match it exactly. */
  readonly fingerprint: Readonly<Record<string, number | string>>;
  /** Seconds spent so far (over all resumed runs). */
  readonly seconds: number;
}

export function checkpointPath(dir: string): string {
  return join(dir, CERTIFICATION_CHECKPOINT_FILE);
}

export function writeCertificationCheckpoint(
  dir: string,
  fingerprint: Record<string, number | string>,
  records: readonly CertifiedExample[],
  seconds: number,
): void {
  const checkpoint: CertificationCheckpoint = { format: FORMAT, version: VERSION, fingerprint, seconds, records };
  writeRecordCheckpoint(checkpointPath(dir), checkpoint);
}

const count = z.number().int().min(0);
const recordSchema = z.object({
  index: count,
  label: count,
  prediction: z.union([count, z.literal('abstain')]),
  radius: z.number().min(0),
  correct: z.boolean(),
  details: z.record(z.string(), z.number().nullable()).optional(),
});

/** Why `value` is not a certified example of this run (of `n` examples, when the fingerprint says), or undefined. */
function recordProblem(value: unknown, n: number | undefined): string | undefined {
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) return firstIssue(parsed.error, 'the record');
  const r = parsed.data;
  if (n !== undefined && r.index >= n) return `example ${r.index} is not one of the run's ${n}`;
  if (r.correct !== (r.prediction === r.label)) return `correct is ${r.correct} but the prediction is ${r.prediction} and the label ${r.label}`;
  if (r.prediction === 'abstain' && r.radius !== 0) return `an abstention certifies radius ${r.radius}, not 0`;
  return undefined;
}

/** The checkpoint in `dir`, or undefined when there is none. */
export function readCertificationCheckpoint(dir: string): CertificationCheckpoint | undefined {
  return readRecordCheckpoint<CertifiedExample, CertificationCheckpoint>(checkpointPath(dir), {
    run: 'certification',
    format: FORMAT,
    version: [1, VERSION],
    unit: 'example',
    hasFields: (c) => typeof c.seconds === 'number' && Number.isFinite(c.seconds),
    recordProblem: (record, file) => recordProblem(record, typeof file.fingerprint.n === 'number' ? file.fingerprint.n : undefined),
  });
}
