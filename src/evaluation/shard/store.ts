/**
 * gibbon's rows in the queue database: an evaluation (its spec, plan and state) and the results of
 * its units. A result is keyed by (evaluation, batch, ε, stage) and inserted with ON CONFLICT DO
 * NOTHING inside the transaction that completes its job: the first commit wins, a second
 * computation of the same unit (a job retried after its lease ran out while the first worker was
 * still busy) inserts nothing and queues nothing, so every unit has exactly one result.
 */
import type pg from 'pg';
import type { StageRecord } from '../stage.js';
import type { LeaseOptions } from './jobs.js';
import type { Unit, UnitPlan } from './units.js';

export type EvaluationState = 'running' | 'cancelled' | 'finished' | 'failed';

/** The plan as stored: the unit shape plus what messages and assembly need. */
export interface StoredPlan extends UnitPlan {
  readonly epsValues: readonly number[];
  /** Labels of the stages at each ε (ensemble, then checks). */
  readonly labels: readonly string[];
  readonly batchSize: number;
  readonly n: number;
  /** Lease and retries of its jobs (workers queue the next cascade stages with them). */
  readonly lease: LeaseOptions;
}

export interface EvaluationRow {
  readonly id: string;
  readonly queue: string;
  /** What a worker opens the evaluation from (the CLI's options; opaque here). */
  readonly spec: unknown;
  readonly fingerprint: Record<string, unknown>;
  readonly plan: StoredPlan;
  readonly state: EvaluationState;
  readonly error: string | null;
  readonly created: Date;
}

/** A unit's result: its record and the first adversarial examples it found (batch-local indices, rows as float32). */
export interface UnitResult extends Unit {
  readonly record: StageRecord & { readonly eps?: number };
  readonly pointIndices: readonly number[];
  readonly points: Float32Array;
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export async function readEvaluation(db: Queryable, schema: string, id: string): Promise<EvaluationRow | undefined> {
  const r = await db.query(`SELECT id, queue, spec, fingerprint, plan, state, error, created FROM ${schema}.evaluations WHERE id = $1`, [id]);
  return r.rows[0] as EvaluationRow | undefined;
}

/** Other evaluations on the queue that are still running (their jobs hold the queue). */
export async function runningOthers(db: Queryable, schema: string, queue: string, id: string): Promise<(EvaluationRow & { done: number })[]> {
  const r = await db.query(
    `SELECT e.id, e.queue, e.fingerprint, e.plan, e.state, e.created, (SELECT count(*)::int FROM ${schema}.results r WHERE r.evaluation = e.id) AS done
       FROM ${schema}.evaluations e WHERE e.queue = $1 AND e.id <> $2 AND e.state = 'running' ORDER BY e.created`,
    [queue, id],
  );
  return r.rows as (EvaluationRow & { done: number })[];
}

export async function insertEvaluation(db: Queryable, schema: string, row: Omit<EvaluationRow, 'state' | 'error' | 'created'>): Promise<void> {
  await db.query(
    `INSERT INTO ${schema}.evaluations (id, queue, spec, fingerprint, plan, state) VALUES ($1, $2, $3, $4, $5, 'running') ON CONFLICT (id) DO NOTHING`,
    [row.id, row.queue, JSON.stringify(row.spec), JSON.stringify(row.fingerprint), JSON.stringify(row.plan)],
  );
}

export async function setState(db: Queryable, schema: string, id: string, state: EvaluationState, error: string | null = null): Promise<void> {
  await db.query(`UPDATE ${schema}.evaluations SET state = $2, error = $3, updated = now() WHERE id = $1`, [id, state, error]);
}

/** Moves the evaluation to `queue` and marks it running (a resumed run may use another queue). */
export async function restart(db: Queryable, schema: string, id: string, queue: string): Promise<void> {
  await db.query(`UPDATE ${schema}.evaluations SET state = 'running', error = NULL, queue = $2, updated = now() WHERE id = $1`, [id, queue]);
}

/** Marks the evaluation failed unless it already is (the first failure's message is kept). */
export async function recordFailure(db: Queryable, schema: string, id: string, message: string): Promise<void> {
  await db.query(`UPDATE ${schema}.evaluations SET state = 'failed', error = $2, updated = now() WHERE id = $1 AND state = 'running'`, [id, message]);
}

/** Inserts a result unless the unit has one; true when this call inserted it. */
export async function insertResult(db: Queryable, schema: string, evaluation: string, result: UnitResult, worker: string): Promise<boolean> {
  const points = Buffer.from(result.points.buffer, result.points.byteOffset, result.points.byteLength);
  const r = await db.query(
    `INSERT INTO ${schema}.results (evaluation, batch, eps, stage, record, point_indices, points, worker)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
    [evaluation, result.batch, result.eps, result.stage, JSON.stringify(result.record), result.pointIndices, points, worker],
  );
  return r.rowCount === 1;
}

function resultFromRow(row: { batch: number; eps: number; stage: number; record: UnitResult['record']; point_indices: number[]; points: Buffer }): UnitResult {
  const bytes = new Uint8Array(row.points.byteLength);
  bytes.set(row.points);
  return { batch: row.batch, eps: row.eps, stage: row.stage, record: row.record, pointIndices: row.point_indices, points: new Float32Array(bytes.buffer) };
}

/** The results of some units (those of one batch, or of the given stages at one ε of one batch). */
export async function readResults(
  db: Queryable,
  schema: string,
  evaluation: string,
  batch: number,
  where?: { eps: number; stages: readonly number[] },
): Promise<UnitResult[]> {
  const r = where
    ? await db.query(
        `SELECT batch, eps, stage, record, point_indices, points FROM ${schema}.results WHERE evaluation = $1 AND batch = $2 AND eps = $3 AND stage = ANY($4::int[]) ORDER BY stage`,
        [evaluation, batch, where.eps, where.stages],
      )
    : await db.query(
        `SELECT batch, eps, stage, record, point_indices, points FROM ${schema}.results WHERE evaluation = $1 AND batch = $2 ORDER BY eps, stage`,
        [evaluation, batch],
      );
  return r.rows.map(resultFromRow);
}

/** Results committed per batch. */
export async function resultCounts(db: Queryable, schema: string, evaluation: string): Promise<Map<number, number>> {
  const r = await db.query(`SELECT batch, count(*)::int AS n FROM ${schema}.results WHERE evaluation = $1 GROUP BY batch`, [evaluation]);
  return new Map(r.rows.map((row: { batch: number; n: number }) => [row.batch, row.n]));
}

/** Every unit that has a result (for re-queueing what is missing). */
export async function committedUnits(db: Queryable, schema: string, evaluation: string): Promise<Set<string>> {
  const r = await db.query(`SELECT batch, eps, stage FROM ${schema}.results WHERE evaluation = $1`, [evaluation]);
  return new Set(r.rows.map((u: Unit) => unitKey(u)));
}

export function unitKey(u: Unit): string {
  return `${u.batch}/${u.eps}/${u.stage}`;
}
