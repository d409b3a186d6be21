/**
 * A certification run's checkpoint: OUT/certification-checkpoint.json holds what identifies the
 * run (its fingerprint) and the record of every example certified so far. It is rewritten through
 * a temporary file and a rename after each example, so a run killed at any point leaves either the
 * previous or the next complete file. A resumed run certifies only the missing examples; because
 * each example's noise comes from a generator derived from (seed, example index), the records
 * are those of an uninterrupted run.
 */
import { join } from 'node:path';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { fingerprintDifferences, readJsonCheckpoint } from '../storage/checkpoint-file.js';
import type { CertifiedExample } from './result.js';

export const CERTIFICATION_CHECKPOINT_FILE = 'certification-checkpoint.json';
const FORMAT = 'gibbon-certification-checkpoint';
const VERSION = 1;

export interface CertificationCheckpoint {
  readonly format: typeof FORMAT;
  readonly version: typeof VERSION;
  /** What the run is: a resumed run must match it exactly. */
  readonly fingerprint: Readonly<Record<string, number | string>>;
  /** Seconds spent so far (over all resumed runs). */
  readonly seconds: number;
  readonly records: readonly CertifiedExample[];
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
  writeFileAtomically(checkpointPath(dir), JSON.stringify(checkpoint));
}

/** The checkpoint in `dir`, or undefined when there is none. */
export function readCertificationCheckpoint(dir: string): CertificationCheckpoint | undefined {
  return readJsonCheckpoint<CertificationCheckpoint>(checkpointPath(dir), {
    run: 'certification',
    format: FORMAT,
    version: VERSION,
    hasFields: (c) => Array.isArray(c.records) && typeof c.fingerprint === 'object' && typeof c.seconds === 'number',
  });
}

/** `key: was → now` for every fingerprint entry that differs. */
export function fingerprintChanges(was: Readonly<Record<string, unknown>>, now: Readonly<Record<string, unknown>>): string[] {
  return fingerprintDifferences(was, now).map((k) => `${k}: ${JSON.stringify(was[k])} → ${JSON.stringify(now[k])}`);
}
