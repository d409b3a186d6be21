/**
 * What the checkpoints of long runs have in common — the evaluation's and the certification's
 * (JSON, one checksummed record per finished unit of work) and the training's (binary, one
 * checksum over header and weights): reading one back with its format and version checked, SHA-256
 * integrity, crash-safe writing (atomic-write.ts, with fsync), validating every record before it
 * is believed, and saying how a resumed run's fingerprint differs from the checkpoint's.
 *
 * A JSON record checkpoint is `{ format, version, fingerprint, records, checksums, …fields }`;
 * version 1 of each format had no checksums and is still read, its records checked by their
 * schema only.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { GibbonError } from '../errors.js';
import { writeFileAtomically } from './atomic-write.js';
import { readJsonFile } from './json-file.js';

/** A JSON checkpoint larger than this is not one (ours hold a few MB even for 10⁵ examples). */
export const MAX_CHECKPOINT_BYTES = 512 * 1024 * 1024;
/** The format version of every JSON record checkpoint that had no checksums yet. */
const UNCHECKSUMMED_VERSION = 1;

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

/** SHA-256 (hex) of text and bytes, in order. */
export function sha256Hex(...parts: readonly (string | ArrayBufferView)[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(typeof p === 'string' ? p : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return hash.digest('hex');
}

/**
 * SHA-256 (hex) of a record together with the fingerprint of the run it belongs to: it catches a
 * damaged or edited record, and a record moved from another run's checkpoint.
 */
export function recordChecksum(fingerprint: unknown, record: unknown): string {
  return sha256Hex(JSON.stringify([fingerprint, record]));
}

/** The first problem a schema found, as `path: message` (`whole` names the value itself when the path is empty). */
export function firstIssue(error: { readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[] }, whole: string): string {
  const issue = error.issues[0]!;
  return `${issue.path.map(String).join('.') || whole}: ${issue.message}`;
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
  const value = readJsonFile(
    path,
    (reason, cause) =>
      new GibbonError('invalid_checkpoint', `${path} is not valid JSON (${reason}); delete it to start the ${kind.run} over`, { path }, { cause }),
  );
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

/** The fields every JSON record checkpoint has. */
export interface RecordCheckpoint<R> {
  readonly format: string;
  readonly version: number;
  /** What the run is: a resumed run must match it exactly. */
  readonly fingerprint: Readonly<Record<string, unknown>>;
  readonly records: readonly R[];
  /** SHA-256 of (fingerprint, record) for each record, same order (written by writeRecordCheckpoint). */
  readonly checksums?: readonly string[];
  /** Records that were dropped when the checkpoint was read, and why (never written). */
  readonly damaged?: readonly string[];
}

/** A kind of JSON record checkpoint: what a file must be, and what each record must be. */
export interface RecordCheckpointKind<R extends { readonly index: number }, F extends RecordCheckpoint<R>> extends CheckpointKind {
  /** What a record's index counts, in messages: 'batch', 'example'. */
  readonly unit: string;
  /** Why `value` is not a record of the run `file` describes, or undefined when it is one. */
  readonly recordProblem: (value: unknown, file: F) => string | undefined;
}

function hasRecordFields(c: Readonly<Record<string, unknown>>): boolean {
  const f = c.fingerprint;
  return (
    Array.isArray(c.records) &&
    typeof f === 'object' &&
    f !== null &&
    !Array.isArray(f) &&
    (c.version === UNCHECKSUMMED_VERSION || (Array.isArray(c.checksums) && c.checksums.length === c.records.length))
  );
}

/**
 * The record checkpoint at `path`, or undefined when there is none. A record that fails its
 * schema or the run's shape (`kind.recordProblem`), its checksum, or repeats an index is left out
 * and described in `damaged`, so the resumed run computes it again.
 */
export function readRecordCheckpoint<R extends { readonly index: number }, F extends RecordCheckpoint<R>>(
  path: string,
  kind: RecordCheckpointKind<R, F>,
): F | undefined {
  const file = readJsonCheckpoint<F>(path, { ...kind, hasFields: (c) => hasRecordFields(c) && kind.hasFields(c) });
  if (!file) return undefined;
  const records: R[] = [];
  const damaged: string[] = [];
  const seen = new Set<number>();
  file.records.forEach((record: unknown, k) => {
    const index = (record as { index?: unknown } | null)?.index;
    let problem = kind.recordProblem(record, file);
    if (!problem && file.version !== UNCHECKSUMMED_VERSION && file.checksums![k] !== recordChecksum(file.fingerprint, record))
      problem = 'its checksum does not match';
    if (!problem && seen.has((record as R).index)) problem = `its ${kind.unit} is already in the checkpoint`;
    if (problem) {
      damaged.push(`record ${k}${typeof index === 'number' ? ` (${kind.unit} ${index})` : ''}: ${problem}`);
      return;
    }
    seen.add((record as R).index);
    records.push(record as R);
  });
  const { checksums: _, ...rest } = file;
  return { ...rest, records, ...(damaged.length > 0 ? { damaged } : {}) } as unknown as F;
}

/** Writes a record checkpoint to `path` atomically (temporary file, fsync, rename), with a checksum per record. */
export function writeRecordCheckpoint<R>(path: string, checkpoint: RecordCheckpoint<R>, what?: string): string {
  const { damaged: _, ...rest } = checkpoint;
  const file = { ...rest, checksums: checkpoint.records.map((r) => recordChecksum(checkpoint.fingerprint, r)) };
  writeFileAtomically(path, JSON.stringify(file), { fsync: true, ...(what ? { what } : {}) });
  return path;
}

/** The keys whose values differ (JSON comparison), in the order of `a`'s keys, then `b`'s. */
function differingKeys(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** The fingerprint keys whose values differ (JSON comparison), sorted. */
export function fingerprintDifferences(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  return differingKeys(a, b).sort();
}

/** `key: was → now` for every fingerprint entry that differs. */
export function fingerprintChanges(was: Readonly<Record<string, unknown>>, now: Readonly<Record<string, unknown>>): string[] {
  return fingerprintDifferences(was, now).map((k) => `${k}: ${JSON.stringify(was[k])} → ${JSON.stringify(now[k])}`);
}

/** `key: checkpoint X, now Y` for every entry that differs, joined by '; ' ('' when they agree). */
export function fingerprintDifference(checkpoint: Readonly<Record<string, unknown>>, now: Readonly<Record<string, unknown>>): string {
  return differingKeys(checkpoint, now)
    .map((k) => `${k}: checkpoint ${JSON.stringify(checkpoint[k])}, now ${JSON.stringify(now[k])}`)
    .join('; ');
}
