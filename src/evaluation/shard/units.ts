/**
 * The units of a sharded evaluation: one job per (batch, ε, stage) of the cascade, plus one per
 * batch for the unbounded-PGD check. At each ε the stages are the ensemble's (in cascade order)
 * followed by the masking checks' reference runs (one FGSM step, noise), as the in-process runner
 * lists them. A cascade stage needs the results of the stages before it (it attacks only the
 * examples they left robust); the reference runs and the unbounded check need none. So the first
 * stage of every chain, the checks and the unbounded runs are queued at the start, and a worker
 * that commits cascade stage k queues stage k + 1 in the same transaction.
 *
 * Job ids are derived from (evaluation, unit), so queueing a unit twice is a no-op (pg-boss
 * ignores an id it already holds) and a coordinator can always re-queue what it believes missing.
 */
import { createHash } from 'node:crypto';

/** ε index of the per-batch unbounded-PGD check (it has no ε of the threat model). */
export const UNBOUNDED_EPS = -1;

export interface Unit {
  readonly batch: number;
  /** Index into the threat model's ε list, or UNBOUNDED_EPS. */
  readonly eps: number;
  /** Index into the stages at that ε: the ensemble's, then the checks' (0 for the unbounded check). */
  readonly stage: number;
}

/** What the job queue carries: the unit and whose it is. */
export interface UnitJob extends Unit {
  readonly evaluation: string;
}

/** The shape of an evaluation's work: batches, budgets, cascade stages, checks on or off. */
export interface UnitPlan {
  readonly batches: number;
  readonly eps: number;
  readonly ensembleStages: number;
  readonly checks: boolean;
}

/** Stages per ε: the cascade's, then FGSM and noise when the checks run. */
export function stagesPerEps(plan: UnitPlan): number {
  return plan.ensembleStages + (plan.checks ? 2 : 0);
}

/** Every unit of one batch. */
export function unitsOfBatch(plan: UnitPlan, batch: number): Unit[] {
  const units: Unit[] = [];
  for (let e = 0; e < plan.eps; e++) for (let s = 0; s < stagesPerEps(plan); s++) units.push({ batch, eps: e, stage: s });
  if (plan.checks) units.push({ batch, eps: UNBOUNDED_EPS, stage: 0 });
  return units;
}

/** Units that need no other unit's result: queued when the evaluation starts. */
export function isInitial(plan: UnitPlan, unit: Unit): boolean {
  return unit.eps === UNBOUNDED_EPS || unit.stage === 0 || unit.stage >= plan.ensembleStages;
}

/** The unit a committed unit makes ready (the next cascade stage), if any. */
export function successor(plan: UnitPlan, unit: Unit): Unit | undefined {
  if (unit.eps === UNBOUNDED_EPS || unit.stage + 1 >= plan.ensembleStages) return undefined;
  return { batch: unit.batch, eps: unit.eps, stage: unit.stage + 1 };
}

/** The cascade stages whose results a unit needs (their broken examples are not attacked again). */
export function predecessors(plan: UnitPlan, unit: Unit): number[] {
  if (unit.eps === UNBOUNDED_EPS || unit.stage >= plan.ensembleStages) return [];
  return Array.from({ length: unit.stage }, (_, s) => s);
}

/** A UUID derived from the evaluation and the unit: the same unit always gets the same job id. */
export function jobId(evaluation: string, unit: Unit): string {
  const h = createHash('sha256').update(`${evaluation}/${unit.batch}/${unit.eps}/${unit.stage}`).digest('hex');
  // Shaped as a version-4 UUID (PostgreSQL's uuid type accepts any 128 bits; the shape keeps tools happy).
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A unit in messages: "batch 3, ε=0.3, 'apgd-ce'". */
export function describeUnit(unit: Unit, epsValues: readonly number[], stageLabels: readonly string[]): string {
  if (unit.eps === UNBOUNDED_EPS) return `batch ${unit.batch}, unbounded PGD check`;
  return `batch ${unit.batch}, ε=${epsValues[unit.eps]}, '${stageLabels[unit.stage] ?? `stage ${unit.stage}`}'`;
}
