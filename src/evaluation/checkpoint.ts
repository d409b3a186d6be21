/**
 * The evaluation's checkpoint: OUT/checkpoint.json holds what identifies the evaluation (its
 * fingerprint) and the per-example outcomes of every finished batch. It is rewritten after each
 * batch through a temporary file and a rename, so a reader (or a run resumed after kill -9) sees
 * either the previous or the next complete file, never half of one. A resumed run loads the
 * finished batches and computes only the others; because each batch's randomness is derived from
 * (seed, batch, ε, attack), the numbers are those of an uninterrupted run.
 *
 * A checkpoint is read back as untrusted input: every batch record is checked against a schema
 * (zod), against the evaluation it claims to belong to (its batch's examples, the budgets, the
 * classes) and against its checksum (SHA-256 of the fingerprint and the record, written beside it),
 * so a damaged or edited record is neither believed nor allowed to crash the report. Damaged
 * records are dropped, with a note each, and the resumed run computes those batches again.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import { removeDeadTemporaries } from '../storage/atomic-write.js';
import {
  fingerprintDifferences,
  firstIssue,
  readRecordCheckpoint,
  sha256Hex,
  writeRecordCheckpoint,
  type RecordCheckpoint,
} from '../storage/checkpoint-file.js';
import type { GalleryItem } from '../report/index.js';
import type { PlannedStage } from './plan.js';
import type { EvaluationOptions } from './run-context.js';
import type { StageRecord } from './stage.js';
import { threatModelRecord } from './threat-model.js';

export type { StageRecord } from './stage.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
const FORMAT = 'gibbon-evaluation-checkpoint';
/** 2: records have checksums. Format 1 files (no checksums) are still read, their records checked by the schema only. */
const VERSION = 2;

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

export interface Checkpoint extends RecordCheckpoint<BatchRecord> {
  readonly format: typeof FORMAT;
  readonly batches: number;
  readonly finished: boolean;
}

export function newCheckpoint(fingerprint: Record<string, unknown>, batches: number): Checkpoint {
  return { format: FORMAT, version: VERSION, fingerprint, batches, finished: false, records: [] };
}

/** Writes the checkpoint to dir/checkpoint.json atomically (temporary file, fsync, rename), with a checksum per record. */
export function writeCheckpoint(dir: string, checkpoint: Checkpoint): string {
  return writeRecordCheckpoint(join(dir, CHECKPOINT_FILE), { ...checkpoint, version: VERSION }, 'the checkpoint');
}

const count = z.number().int().min(0);
/** Measured values: JSON writes NaN as null. */
const measured = z.number().nullable();

const stageSchema = z.object({
  label: z.string(),
  attack: z.string(),
  role: z.enum(['ensemble', 'check']),
  oracle: z.enum(['gradient', 'score', 'decision', 'none']),
  attacked: count,
  broken: z.array(count),
  norms: z.array(measured),
  maxNorm: measured,
  queries: count,
  steps: count,
  seconds: measured,
  zeroGradient: count,
  gradientMeasured: count,
  flatLoss: count,
  lossMeasured: count,
  warnings: z.array(z.object({ code: z.string(), severity: z.enum(['info', 'warning']), message: z.string() })),
  brokenQueries: z.array(count).optional(),
});

const gallerySchema = z.object({
  index: count,
  eps: z.number(),
  attack: z.string(),
  label: count,
  clean_prediction: count,
  clean_confidence: measured,
  adversarial_prediction: count,
  adversarial_confidence: measured,
  shape: z.array(count),
  clean: z.array(measured),
  adversarial: z.array(measured),
});

const batchSchema = z.object({
  index: count,
  start: count,
  end: count,
  predictions: z.array(count),
  targets: z.array(count).optional(),
  eps: z.array(z.object({ eps: z.number(), stages: z.array(stageSchema) })),
  unbounded: stageSchema.extend({ eps: z.number() }).optional(),
  forwardDifference: measured,
  gallery: z.array(gallerySchema),
  seconds: measured,
});

/** What a record must agree with, from the checkpoint's fingerprint (each part only when the fingerprint has it). */
interface Expected {
  readonly batches: number;
  readonly batchSize?: number;
  readonly n?: number;
  readonly eps?: readonly number[];
  readonly numClasses?: number;
}

function expectedFrom(checkpoint: Checkpoint, numClasses: number | undefined): Expected {
  const fp = checkpoint.fingerprint as { batch_size?: unknown; data?: { n?: unknown }; threat_model?: { eps?: unknown } };
  const positive = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  const eps = fp.threat_model?.eps;
  return {
    batches: checkpoint.batches,
    batchSize: positive(fp.batch_size),
    n: positive(fp.data?.n),
    eps: Array.isArray(eps) && eps.every((e) => typeof e === 'number') ? (eps as number[]) : undefined,
    numClasses,
  };
}

/** Why a stage record cannot be from a batch of `size` examples, or undefined. */
function stageProblem(stage: z.infer<typeof stageSchema>, size: number, where: string): string | undefined {
  if (stage.attacked > size) return `${where} attacked ${stage.attacked} of ${size} examples`;
  if (stage.broken.length > stage.attacked) return `${where} broke ${stage.broken.length} of ${stage.attacked} examples attacked`;
  if (stage.broken.some((b, k) => b >= size || (k > 0 && b <= stage.broken[k - 1]!))) {
    return `${where} lists broken examples that are not increasing indices below ${size}`;
  }
  if (stage.norms.length !== stage.broken.length) return `${where} has ${stage.norms.length} norms for ${stage.broken.length} broken examples`;
  if (stage.brokenQueries && stage.brokenQueries.length !== stage.broken.length) {
    return `${where} has ${stage.brokenQueries.length} query counts for ${stage.broken.length} broken examples`;
  }
  return undefined;
}

/** Why `value` is not a record of this evaluation, or undefined when it is one. */
function recordProblem(value: unknown, expected: Expected): string | undefined {
  const parsed = batchSchema.safeParse(value);
  if (!parsed.success) return firstIssue(parsed.error, 'the record');
  const r = parsed.data;
  if (r.index >= expected.batches) return `batch index ${r.index} is not below ${expected.batches}`;
  if (expected.batchSize !== undefined && expected.n !== undefined) {
    const start = r.index * expected.batchSize;
    const end = Math.min(expected.n, start + expected.batchSize);
    if (r.start !== start || r.end !== end) return `it covers examples [${r.start}, ${r.end}), but batch ${r.index} is [${start}, ${end})`;
  }
  if (r.end <= r.start) return `it covers no examples ([${r.start}, ${r.end}))`;
  const size = r.end - r.start;
  if (r.predictions.length !== size) return `it has ${r.predictions.length} predictions for ${size} examples`;
  if (r.targets && r.targets.length !== size) return `it has ${r.targets.length} targets for ${size} examples`;
  const c = expected.numClasses;
  if (c !== undefined && [...r.predictions, ...(r.targets ?? [])].some((p) => p >= c)) return `it names classes beyond the model's ${c}`;
  const eps = expected.eps;
  if (eps && (r.eps.length !== eps.length || r.eps.some((e, k) => e.eps !== eps[k]))) {
    return `its budgets [${r.eps.map((e) => e.eps).join(', ')}] are not the evaluation's [${eps.join(', ')}]`;
  }
  for (const e of r.eps) {
    for (const stage of e.stages) {
      const problem = stageProblem(stage, size, `'${stage.label}' at ε=${e.eps}`);
      if (problem) return problem;
    }
  }
  if (r.unbounded) return stageProblem(r.unbounded, size, `'${r.unbounded.label}'`);
  return undefined;
}

/**
 * The checkpoint in dir, or undefined when there is none. Records that fail their schema, their
 * checksum or the evaluation's shape (see the file comment) are left out and described in
 * `damaged`; a checkpoint that lost records is not finished. `numClasses` (the model's) adds a
 * check of the predicted and target classes.
 */
export function readCheckpoint(dir: string, options: { numClasses?: number } = {}): Checkpoint | undefined {
  const file = readRecordCheckpoint<BatchRecord, Checkpoint>(join(dir, CHECKPOINT_FILE), {
    run: 'evaluation',
    format: FORMAT,
    version: [1, VERSION],
    unit: 'batch',
    hasFields: (c) => typeof c.batches === 'number' && Number.isInteger(c.batches) && c.batches > 0,
    recordProblem: (record, checkpoint) => recordProblem(record, expectedFrom(checkpoint, options.numClasses)),
  });
  return file && { ...file, finished: file.finished === true && file.damaged === undefined };
}

/** Removes temporary files that killed runs left behind while writing the checkpoint or the report (never those of a live process). */
export function removeStaleTemporaries(dir: string): void {
  removeDeadTemporaries(dir, [CHECKPOINT_FILE, 'report.json', 'report.html']);
}

/** What `evaluationFingerprint` needs besides the options and the plan. */
export interface FingerprintFacts {
  readonly batchSize: number;
  readonly checks: boolean;
  readonly gallerySize: number;
  readonly version: string;
}

/** What identifies an evaluation: a resumed run must agree on all of it. */
export function evaluationFingerprint(options: EvaluationOptions, stages: readonly PlannedStage[], facts: FingerprintFacts): Record<string, unknown> {
  const data = options.data;
  return {
    gibbon: facts.version,
    // A model without a file hash (built in memory) is identified by the path it was given.
    model: options.model.ir.sha256 ?? `path:${options.modelPath}`,
    surrogate: options.surrogate?.ir.sha256 ?? null,
    threat_model: threatModelRecord(options.threatModel),
    data: { source: data.source, n: data.labels.length, sha256: sha256Hex(data.x.data, data.labels) },
    attacks: stages.map((s) => ({ label: s.config.label, attack: s.config.attack, options: s.config.options })),
    batch_size: facts.batchSize,
    checks: facts.checks,
    bpda: options.bpda ?? false,
    ...(options.bpdaSurrogates?.length ? { bpda_surrogates: options.bpdaSurrogates } : {}),
    ...((options.eotSamples ?? 1) > 1 ? { eot_samples: options.eotSamples } : {}),
    gallery: facts.gallerySize,
  };
}

/** How a run starts from its output folder. */
export interface OpenCheckpointOptions {
  readonly fingerprint: Record<string, unknown>;
  readonly batches: number;
  readonly numClasses: number;
  /** Continue the evaluation in the folder (else an unfinished one there is refused). */
  readonly resume: boolean;
  /** Receives a note per damaged record dropped. */
  readonly notes: string[];
}

/**
 * The checkpoint a run starts from: a new one, or, resuming, the one in `out` (which must be of
 * the same evaluation). Without `resume`, an unfinished evaluation in `out` is refused rather
 * than overwritten; a finished one is replaced. Stale temporaries of killed runs are removed.
 */
export function openCheckpoint(out: string | undefined, o: OpenCheckpointOptions): Checkpoint {
  const fresh = newCheckpoint(o.fingerprint, o.batches);
  if (!out) return fresh;
  removeStaleTemporaries(out);
  const existing = readCheckpoint(out, { numClasses: o.numClasses });
  const where = `${out}/${CHECKPOINT_FILE}`;
  if (existing && o.resume) {
    for (const d of existing.damaged ?? []) o.notes.push(`${where} is damaged: ${d}; that record is dropped and its batch computed again`);
    const differ = fingerprintDifferences(existing.fingerprint, o.fingerprint);
    if (differ.length > 0) {
      throw new GibbonError(
        'invalid_checkpoint',
        `${where} belongs to a different evaluation (it differs in: ${differ.join(', ')}); resume with the same model, threat model, data, attacks and batch size, or use another output folder`,
        { path: where, option: 'resume' },
      );
    }
    return existing;
  }
  if (existing && !existing.finished) {
    throw new GibbonError(
      'invalid_checkpoint',
      `${where} holds an unfinished evaluation (${existing.records.length} of ${existing.batches} batches done); resume it (option resume), or delete it or choose another output folder to start over`,
      { path: where, option: 'resume' },
    );
  }
  return fresh;
}
