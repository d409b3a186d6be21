/**
 * What the JSON checkpoints of long runs have in common (evaluation/checkpoint.ts,
 * certify/checkpoint.ts): reading one back with its format and version checked, and comparing the
 * fingerprint that says which run it belongs to. They are written with writeFileAtomically
 * (atomic-write.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { GibbonError } from '../errors.js';

/** What a checkpoint file must be. */
export interface CheckpointKind {
  /** What made it, in messages: 'evaluation', 'certification'. */
  readonly run: string;
  readonly format: string;
  readonly version: number;
  /** Whether the fields beyond format and version are there, with the right types. */
  readonly hasFields: (value: Readonly<Record<string, unknown>>) => boolean;
}

/** The checkpoint at `path`, or undefined when there is none; a file that is not one of `kind` is refused, saying how to start over. */
export function readJsonCheckpoint<T>(path: string, kind: CheckpointKind): T | undefined {
  if (!existsSync(path)) return undefined;
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
  const c = value as Partial<Record<string, unknown>>;
  if (c.format !== kind.format || c.version !== kind.version || !kind.hasFields(c)) {
    throw new GibbonError(
      'invalid_checkpoint',
      `${path} is not a gibbon ${kind.run} checkpoint (format ${kind.version}); delete it or use another --out folder`,
      { path },
    );
  }
  return c as T;
}

/** The fingerprint keys whose values differ (JSON comparison), sorted. */
export function fingerprintDifferences(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}
