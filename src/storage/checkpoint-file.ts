/**
 * What the JSON checkpoints of long runs have in common (evaluation/checkpoint.ts,
 * certify/checkpoint.ts): reading one back with its format and version checked, and comparing the
 * fingerprint that says which run it belongs to. They are written with writeFileAtomically
 * (atomic-write.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { GibbonError } from '../errors.js';

/** What a checkpoint file must be. */
export interface CheckpointKind {
  /** What made it, in messages: 'evaluation', 'certification'. */
  readonly run: string;
  readonly format: string;
  /** The version written, or every version still read. */
  readonly version: number | readonly number[];
  /** Whether the fields beyond format and version are there, with the right types. */
  readonly hasFields: (value: Readonly<Record<string, unknown>>) => boolean;
}

/** The checkpoint at `path`, or undefined when there is none; a file that is not one of `kind` is refused, saying how to start over. */
export function readJsonCheckpoint<T>(path: string, kind: CheckpointKind): T | undefined {
  if (!existsSync(path)) return undefined;
  const stat = statSync(path);
  if (!stat.isFile()) throw new GibbonError('invalid_checkpoint', `${path} is not a regular file; delete it to start the ${kind.run} over`, { path });
  if (stat.size > MAX_CHECKPOINT_BYTES) {
    throw new GibbonError(
      'invalid_checkpoint',
      `${path} is ${stat.size} bytes, more than a checkpoint may be (${MAX_CHECKPOINT_BYTES}); delete it to start the ${kind.run} over`,
      { path },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new GibbonError(
      'invalid_checkpoint',
      `${path} is not valid JSON (${(e as Error).message}); delete it to start the ${kind.run} over`,
      { path },
      { cause: e },
    );
  }
  const versions: readonly number[] = typeof kind.version === 'number' ? [kind.version] : kind.version;
  const c = (value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {}) as Partial<Record<string, unknown>>;
  if (c.format !== kind.format || !versions.includes(c.version as number) || !kind.hasFields(c)) {
    throw new GibbonError(
      'invalid_checkpoint',
      `${path} is not a gibbon ${kind.run} checkpoint (format ${versions.join(' or ')}); delete it or use another --out folder`,
      { path },
    );
  }
  return c as T;
}

/** A JSON checkpoint larger than this is not one (ours hold a few MB even for 10⁵ examples). */
export const MAX_CHECKPOINT_BYTES = 512 * 1024 * 1024;

/**
 * SHA-256 (hex) of a record together with the fingerprint of the run it belongs to: it catches a
 * damaged or edited record, and a record moved from another run's checkpoint.
 */
export function recordChecksum(fingerprint: unknown, record: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([fingerprint, record]))
    .digest('hex');
}

/** The fingerprint keys whose values differ (JSON comparison), sorted. */
export function fingerprintDifferences(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}
