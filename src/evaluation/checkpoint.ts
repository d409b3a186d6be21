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
import { removeDeadTemporaries, writeFileAtomically } from '../storage/atomic-write.js';
import { readJsonCheckpoint, recordChecksum } from '../storage/checkpoint-file.js';
import type { GalleryItem } from '../report/index.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
const FORMAT = 'gibbon-evaluation-checkpoint';
/** 2: records have checksums. Format 1 files (no checksums) are still read, their records checked by the schema only. */
const VERSION = 2;

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
  readonly version: number;
  /** What the evaluation is: a resumed run must match it exactly. */
  readonly fingerprint: Readonly<Record<string, unknown>>;
  readonly batches: number;
  readonly finished: boolean;
  readonly records: readonly BatchRecord[];
  /** SHA-256 of (fingerprint, record) for each record, same order (written by writeCheckpoint). */
  readonly checksums?: readonly string[];
  /** Records that were dropped when the checkpoint was read, and why (never written). */
  readonly damaged?: readonly string[];
}

export function newCheckpoint(fingerprint: Record<string, unknown>, batches: number): Checkpoint {
  return { format: FORMAT, version: VERSION, fingerprint, batches, finished: false, records: [] };
}

/** Writes the checkpoint to dir/checkpoint.json atomically (temporary file, fsync, rename), with a checksum per record. */
export function writeCheckpoint(dir: string, checkpoint: Checkpoint): string {
  const path = join(dir, CHECKPOINT_FILE);
  const { damaged: _, ...rest } = checkpoint;
  const file: Checkpoint = { ...rest, version: VERSION, checksums: checkpoint.records.map((r) => recordChecksum(checkpoint.fingerprint, r)) };
  writeFileAtomically(path, JSON.stringify(file), { fsync: true, what: 'the checkpoint' });
  return path;
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
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `${issue.path.join('.') || 'the record'}: ${issue.message}`;
  }
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
  const path = join(dir, CHECKPOINT_FILE);
  const file = readJsonCheckpoint<Checkpoint>(path, {
    run: 'evaluation',
    format: FORMAT,
    version: [1, VERSION],
    hasFields: (c) =>
      Array.isArray(c.records) &&
      typeof c.batches === 'number' &&
      Number.isInteger(c.batches) &&
      c.batches > 0 &&
      typeof c.fingerprint === 'object' &&
      c.fingerprint !== null &&
      !Array.isArray(c.fingerprint) &&
      (c.version === 1 || (Array.isArray(c.checksums) && c.checksums.length === c.records.length)),
  });
  if (!file) return undefined;
  const expected = expectedFrom(file, options.numClasses);
  const records: BatchRecord[] = [];
  const damaged: string[] = [];
  const seen = new Set<number>();
  file.records.forEach((record: unknown, k) => {
    const index = (record as { index?: unknown } | null)?.index;
    const name = `record ${k}${typeof index === 'number' ? ` (batch ${index})` : ''}`;
    let problem = recordProblem(record, expected);
    if (!problem && file.version !== 1 && file.checksums![k] !== recordChecksum(file.fingerprint, record)) problem = 'its checksum does not match';
    if (!problem && seen.has((record as BatchRecord).index)) problem = 'its batch is already in the checkpoint';
    if (problem) {
      damaged.push(`${name}: ${problem}`);
      return;
    }
    seen.add((record as BatchRecord).index);
    records.push(record as BatchRecord);
  });
  const { checksums: _, ...rest } = file;
  return { ...rest, finished: file.finished === true && damaged.length === 0, records, ...(damaged.length > 0 ? { damaged } : {}) };
}

/** Removes temporary files that killed runs left behind while writing the checkpoint or the report (never those of a live process). */
export function removeStaleTemporaries(dir: string): void {
  removeDeadTemporaries(dir, [CHECKPOINT_FILE, 'report.json', 'report.html']);
}
