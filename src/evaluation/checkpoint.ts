/**
 * The evaluation's checkpoint: OUT/checkpoint.json holds what identifies the evaluation (its
 * fingerprint) and the per-example outcomes of every finished batch. It is rewritten after each
 * batch through a temporary file and a rename, so a reader (or a run resumed after kill -9) sees
 * either the previous or the next complete file, never half of one. A resumed run loads the
 * finished batches and computes only the others; because each batch's randomness is derived from
 * (seed, batch, ε, attack), the numbers are those of an uninterrupted run.
 */
import { join } from 'node:path';
import { removeDeadTemporaries, writeFileAtomically } from '../storage/atomic-write.js';
import { readJsonCheckpoint } from '../storage/checkpoint-file.js';
import type { GalleryItem } from '../report/index.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
const FORMAT = 'gibbon-evaluation-checkpoint';
const VERSION = 1;

/** One attack (or reference run) on one batch at one ε. Example indices are batch-local. */
export interface StageRecord {
  /** Label in reports: 'apgd-ce', 'fgsm (check)' … */
  readonly label: string;
  /** Registry name, or 'noise'. */
  readonly attack: string;
  /** 'ensemble' counts towards robust accuracy as a stage of the cascade; 'check' is a masking-check reference run (also counted). */
  readonly role: 'ensemble' | 'check';
  /** Oracle the attack was given ('none' for random noise). */
  readonly oracle: 'gradient' | 'score' | 'decision' | 'none';
  /** Examples it was given. */
  readonly attacked: number;
  /** Examples it made adversarial (batch-local indices, increasing). */
  readonly broken: readonly number[];
  /** Perturbation norm of each broken example. */
  readonly norms: readonly number[];
  /** Largest perturbation norm over all examples it was given (budget check). */
  readonly maxNorm: number;
  readonly queries: number;
  readonly steps: number;
  readonly seconds: number;
  /** Examples whose first input gradient was exactly zero, of those where it was measured. */
  readonly zeroGradient: number;
  readonly gradientMeasured: number;
  /** Examples left robust whose best loss never rose above the starting loss, of those measured. */
  readonly flatLoss: number;
  readonly lossMeasured: number;
  readonly warnings: readonly { readonly code: string; readonly severity: 'info' | 'warning'; readonly message: string }[];
  /** Query-based attacks: the queries each broken example took (same order as `broken`). Optional, added after format 1. */
  readonly brokenQueries?: readonly number[];
}

export interface EpsRecord {
  readonly eps: number;
  readonly stages: readonly StageRecord[];
}

export interface BatchRecord {
  readonly index: number;
  /** Examples [start, end) of the data. */
  readonly start: number;
  readonly end: number;
  /** Clean predicted class per example. */
  readonly predictions: readonly number[];
  /** Target class per example (targeted threat models). */
  readonly targets?: readonly number[];
  readonly eps: readonly EpsRecord[];
  /** PGD at a budget covering the whole input domain (masking check). */
  readonly unbounded?: StageRecord & { readonly eps: number };
  /** Largest difference between two forward passes on the same inputs, relative to the largest |logit| (at least 1). */
  readonly forwardDifference: number;
  readonly gallery: readonly GalleryItem[];
  readonly seconds: number;
}

export interface Checkpoint {
  readonly format: typeof FORMAT;
  readonly version: typeof VERSION;
  /** What the evaluation is: a resumed run must match it exactly. */
  readonly fingerprint: Readonly<Record<string, unknown>>;
  readonly batches: number;
  readonly finished: boolean;
  readonly records: readonly BatchRecord[];
}

export function newCheckpoint(fingerprint: Record<string, unknown>, batches: number): Checkpoint {
  return { format: FORMAT, version: VERSION, fingerprint, batches, finished: false, records: [] };
}

/** Writes the checkpoint to dir/checkpoint.json atomically (temporary file, fsync, rename). */
export function writeCheckpoint(dir: string, checkpoint: Checkpoint): string {
  const path = join(dir, CHECKPOINT_FILE);
  writeFileAtomically(path, JSON.stringify(checkpoint), { fsync: true, what: 'the checkpoint' });
  return path;
}

/** The checkpoint in dir, or undefined when there is none. */
export function readCheckpoint(dir: string): Checkpoint | undefined {
  return readJsonCheckpoint<Checkpoint>(join(dir, CHECKPOINT_FILE), {
    run: 'evaluation',
    format: FORMAT,
    version: VERSION,
    hasFields: (c) => Array.isArray(c.records) && typeof c.batches === 'number' && typeof c.fingerprint === 'object',
  });
}

/** Removes temporary files that killed runs left behind while writing the checkpoint or the report (never those of a live process). */
export function removeStaleTemporaries(dir: string): void {
  removeDeadTemporaries(dir, [CHECKPOINT_FILE, 'report.json', 'report.html']);
}
