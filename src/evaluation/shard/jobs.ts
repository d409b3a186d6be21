/**
 * Queueing units as pg-boss jobs: ids derived from the unit (so queueing is idempotent), a lease
 * (pg-boss `expireInSeconds`: a job whose worker died is failed by `expire()` after it and then
 * retried), and priorities that run the long cascade chains first and the independent checks as
 * filler at the end, which keeps both workers busy until the last unit.
 */
import type PgBoss from 'pg-boss';
import { jobId, type Unit, type UnitJob, type UnitPlan } from './units.js';

export interface LeaseOptions {
  /** Seconds a worker may hold a job before it is given to another (default 1800). */
  readonly leaseSeconds: number;
  /** Times a job is retried after its worker died or failed (default 1000: workers may be killed often; errors in the attack itself stop the evaluation instead). */
  readonly retryLimit: number;
}

export const DEFAULT_LEASE: LeaseOptions = { leaseSeconds: 1800, retryLimit: 1000 };

/** The pg-boss insert of a unit. */
export function jobInsert(queue: string, evaluation: string, plan: UnitPlan, unit: Unit, lease: LeaseOptions): PgBoss.JobInsert<UnitJob> {
  const chain = unit.eps >= 0 && unit.stage < plan.ensembleStages ? plan.ensembleStages - unit.stage : 0;
  return {
    id: jobId(evaluation, unit),
    name: queue,
    data: { evaluation, batch: unit.batch, eps: unit.eps, stage: unit.stage },
    priority: chain,
    expireInSeconds: lease.leaseSeconds,
    retryLimit: lease.retryLimit,
    retryDelay: 1,
  };
}

/** Whether `data` is a unit job (workers check what they fetch). */
export function isUnitJob(data: unknown): data is UnitJob {
  const d = data as Partial<UnitJob> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.evaluation === 'string' &&
    [d.batch, d.eps, d.stage].every((v) => typeof v === 'number' && Number.isInteger(v) && v >= -1 && v < 1e9)
  );
}
