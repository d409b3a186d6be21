/**
 * One stage of an evaluation — an ensemble attack or a masking check's reference run — on one batch
 * at one ε: its record (what the checkpoint keeps, with batch-local example indices) and the
 * counters that are summed over batches for the report.
 */
import type { AttackOutcome } from '../attacks/attack.js';
import { rowSize } from '../tensor/rows.js';

/** What a stage counts on a batch; the report sums them over batches (`StageCounters.add`). */
export interface StageCounts {
  /** Examples it was given. */
  readonly attacked: number;
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
}

/** Counts summed over batches: every count adds up, the largest norm is the largest of all. */
export class StageCounters implements StageCounts {
  attacked = 0;
  maxNorm = 0;
  queries = 0;
  steps = 0;
  seconds = 0;
  zeroGradient = 0;
  gradientMeasured = 0;
  flatLoss = 0;
  lossMeasured = 0;

  add(c: StageCounts): this {
    this.attacked += c.attacked;
    this.maxNorm = Math.max(this.maxNorm, c.maxNorm);
    this.queries += c.queries;
    this.steps += c.steps;
    this.seconds += c.seconds;
    this.zeroGradient += c.zeroGradient;
    this.gradientMeasured += c.gradientMeasured;
    this.flatLoss += c.flatLoss;
    this.lossMeasured += c.lossMeasured;
    return this;
  }
}

/** One attack (or reference run) on one batch at one ε. Example indices are batch-local. */
export interface StageRecord extends StageCounts {
  /** Label in reports: 'apgd-ce', 'fgsm (check)' … */
  readonly label: string;
  /** Registry name, or 'noise'. */
  readonly attack: string;
  /** 'ensemble' counts towards robust accuracy as a stage of the cascade; 'check' is a masking-check reference run (also counted). */
  readonly role: 'ensemble' | 'check';
  /** Oracle the attack was given ('none' for random noise). */
  readonly oracle: 'gradient' | 'score' | 'decision' | 'none';
  /** Examples it made adversarial (batch-local indices, increasing). */
  readonly broken: readonly number[];
  /** Perturbation norm of each broken example. */
  readonly norms: readonly number[];
  readonly warnings: readonly { readonly code: string; readonly severity: 'info' | 'warning'; readonly message: string }[];
  /** Query-based attacks: the queries each broken example took (same order as `broken`). Optional, added after format 1. */
  readonly brokenQueries?: readonly number[];
}

/** Who a stage is: its label, attack, role and oracle. */
export interface StageIdentity {
  readonly label: string;
  readonly attack: string;
  readonly role: StageRecord['role'];
  readonly oracle: StageRecord['oracle'];
}

/** A stage's record with the adversarial example (row data) of each broken batch-local index. */
export interface StageRun {
  readonly record: StageRecord;
  readonly adversarial: Map<number, Float32Array>;
}

/** The first stage that broke an example at one ε, and the adversarial example it found. */
export interface FirstBreak {
  readonly stage: string;
  readonly point: Float32Array;
}

/** Per batch-local example index, its first break at one ε. */
export type FirstBreaks = Map<number, FirstBreak>;

/** The record of a stage that attacked nothing. */
export function emptyStage(id: StageIdentity): StageRecord {
  return {
    label: id.label,
    attack: id.attack,
    role: id.role,
    oracle: id.oracle,
    attacked: 0,
    broken: [],
    norms: [],
    maxNorm: 0,
    queries: 0,
    steps: 0,
    seconds: 0,
    zeroGradient: 0,
    gradientMeasured: 0,
    flatLoss: 0,
    lossMeasured: 0,
    warnings: [],
  };
}

/** An empty run: nothing attacked, nothing broken. */
export function emptyRun(id: StageIdentity): StageRun {
  return { record: emptyStage(id), adversarial: new Map() };
}

/** Turns a harness outcome on the sub-batch `indices` into a stage record (batch-local indices). */
export function stageRun(id: StageIdentity, indices: Int32Array, outcome: AttackOutcome): StageRun {
  const broken: number[] = [];
  const norms: number[] = [];
  const adversarial = new Map<number, Float32Array>();
  const row = rowSize(outcome.clipped);
  // Queries per example of the sub-batch (query-based attacks; 0 for examples never attacked).
  const perExample = outcome.diagnostics?.queriesPerExample;
  const queriesOf = new Int32Array(indices.length);
  if (perExample) outcome.attacked.forEach((j, r) => (queriesOf[j] = perExample[r]!));
  const brokenQueries: number[] = [];
  let maxNorm = 0;
  for (let j = 0; j < indices.length; j++) {
    maxNorm = Math.max(maxNorm, outcome.norms[j]!);
    if (outcome.success[j]) {
      broken.push(indices[j]!);
      norms.push(outcome.norms[j]!);
      brokenQueries.push(queriesOf[j]!);
      adversarial.set(indices[j]!, outcome.clipped.data.slice(j * row, (j + 1) * row));
    }
  }
  const measured = lossAndGradientCounts(outcome);
  const warnings = outcome.warnings.map((w) => ({ code: w.code, severity: w.severity, message: w.message }));
  return {
    record: {
      label: id.label,
      attack: id.attack,
      role: id.role,
      oracle: id.oracle,
      attacked: indices.length,
      broken,
      norms,
      maxNorm,
      queries: outcome.queries,
      steps: outcome.steps,
      seconds: outcome.seconds,
      ...measured,
      warnings,
      ...(perExample ? { brokenQueries } : {}),
    },
    adversarial,
  };
}

/** Exactly-zero first gradients, and robust examples whose loss never rose, from the attack's diagnostics. */
function lossAndGradientCounts(outcome: AttackOutcome): Pick<StageCounts, 'zeroGradient' | 'gradientMeasured' | 'flatLoss' | 'lossMeasured'> {
  let zeroGradient = 0;
  let gradientMeasured = 0;
  let flatLoss = 0;
  let lossMeasured = 0;
  const d = outcome.diagnostics;
  if (d) {
    for (let r = 0; r < outcome.attacked.length; r++) {
      const j = outcome.attacked[r]!;
      if (d.zeroGradient) {
        gradientMeasured++;
        zeroGradient += d.zeroGradient[r]!;
      }
      const start = d.initialLoss?.[r];
      const best = d.bestLoss?.[r];
      if (!outcome.success[j] && start !== undefined && best !== undefined && Number.isFinite(start) && Number.isFinite(best)) {
        lossMeasured++;
        if (best <= start + 1e-6 * Math.max(1, Math.abs(start))) flatLoss++;
      }
    }
  }
  return { zeroGradient, gradientMeasured, flatLoss, lossMeasured };
}
