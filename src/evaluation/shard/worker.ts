/**
 * A worker of sharded evaluations: fetches a unit from the queue, opens its evaluation (once, from
 * the spec the coordinator stored; its fingerprint must match, so a worker whose model or data
 * files differ refuses), computes the unit and commits, in ONE transaction, the unit's result
 * (first commit wins), the next cascade stage's job and the job's completion. A worker killed
 * before the commit leaves no trace: its job's lease runs out and another worker repeats it.
 * A worker that loses the database waits and carries on when it is back (the pool reconnects).
 */
import type pg from 'pg';
import type PgBoss from 'pg-boss';
import { GibbonError } from '../../errors.js';
import { fingerprintDifferences } from '../../storage/checkpoint-file.js';
import type { PreparedBatch } from '../runner.js';
import { setupRun, type RunSetup } from '../runner.js';
import type { EvaluationOptions } from '../run-context.js';
import { batchOf, computeUnit } from './compute.js';
import { connect, inTransaction, isConnectionError, type Connection, type ConnectOptions, type QueueAddress } from './database.js';
import { isUnitJob, jobInsert } from './jobs.js';
import { insertResult, readEvaluation, readResults, recordFailure, type EvaluationRow } from './store.js';
import { describeUnit, predecessors, successor, UNBOUNDED_EPS, type UnitJob } from './units.js';

/** An evaluation opened by the worker's host (the CLI): the options evaluate() would get, and how to release them. */
export interface OpenedEvaluation {
  readonly options: EvaluationOptions;
  dispose(): Promise<void>;
}

/** Opens the evaluation a stored spec describes (the CLI re-reads the model, threat model and data). */
export type OpenEvaluation = (spec: unknown, row: EvaluationRow) => Promise<OpenedEvaluation>;

export type WorkerEvent =
  | { readonly kind: 'unit'; readonly evaluation: string; readonly unit: string; readonly seconds: number; readonly committed: boolean }
  | { readonly kind: 'lost'; readonly message: string }
  | { readonly kind: 'rejoined' };

export interface WorkerOptions extends Partial<ConnectOptions> {
  readonly address: QueueAddress;
  /** This worker's name (in results and pg_stat_activity). */
  readonly name: string;
  readonly open: OpenEvaluation;
  readonly signal?: AbortSignal;
  /** Pause between polls of an empty queue (default 500 ms). */
  readonly pollMs?: number;
  /** Stop after the queue has been empty this long (default: never). */
  readonly idleExitMs?: number;
  readonly onEvent?: (event: WorkerEvent) => void;
}

interface Current {
  readonly row: EvaluationRow;
  readonly opened: OpenedEvaluation;
  readonly setup: RunSetup;
  batch?: { index: number; prepared: PreparedBatch };
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Opens `row`'s evaluation and checks it is the one the coordinator planned. */
async function openEvaluation(o: WorkerOptions, row: EvaluationRow): Promise<Current> {
  const opened = await o.open(row.spec, row);
  try {
    const setup = setupRun({ ...opened.options, signal: o.signal }, []);
    const differ = fingerprintDifferences(row.fingerprint, setup.fingerprint);
    if (differ.length > 0) {
      throw new GibbonError(
        'invalid_input',
        `worker ${o.name} cannot run evaluation ${row.id.slice(0, 12)}: here it differs in ${differ.join(', ')} (the model, data and threat-model files must be the same on every machine)`,
      );
    }
    return { row, opened, setup };
  } catch (e) {
    await opened.dispose();
    throw e;
  }
}

/** Runs jobs until the signal aborts (or the queue stays empty for idleExitMs); returns the units this worker committed. */
export async function runWorker(o: WorkerOptions): Promise<{ committed: number }> {
  const conn = await connect(o.address, { application: `gibbon-worker ${o.name}`, connectTimeoutMs: o.connectTimeoutMs, queryTimeoutMs: o.queryTimeoutMs });
  let current: Current | undefined;
  let committed = 0;
  let idleSince = Date.now();
  let lost = false;
  let lastExpire = 0;
  try {
    while (!o.signal?.aborted) {
      try {
        if (Date.now() - lastExpire > 5000) {
          // Jobs of dead workers come back once their lease has run out, even with no coordinator around.
          await conn.boss.expire();
          lastExpire = Date.now();
        }
        const [job] = await conn.boss.fetch<UnitJob>(o.address.queue, { batchSize: 1 });
        if (lost) {
          lost = false;
          o.onEvent?.({ kind: 'rejoined' });
        }
        if (!job) {
          if (o.idleExitMs !== undefined && Date.now() - idleSince > o.idleExitMs) break;
          await sleep(o.pollMs ?? 500, o.signal);
          continue;
        }
        const outcome = await runJob(o, conn, job, current);
        current = outcome.current;
        if (outcome.committed) committed++;
        idleSince = Date.now();
      } catch (e) {
        if (o.signal?.aborted) break;
        if (!isConnectionError(e)) throw e;
        if (!lost) o.onEvent?.({ kind: 'lost', message: (e as Error).message });
        lost = true;
        await sleep(1000, o.signal);
      }
    }
  } finally {
    await current?.opened.dispose();
    await conn.close();
  }
  return { committed };
}

/** Computes and commits one job; returns the (possibly newly) open evaluation. */
async function runJob(
  o: WorkerOptions,
  conn: Connection,
  job: PgBoss.Job<UnitJob>,
  current: Current | undefined,
): Promise<{ current: Current | undefined; committed: boolean }> {
  const { schema, queue } = conn.address;
  const unit = job.data;
  if (!isUnitJob(unit)) {
    await conn.boss.fail(queue, job.id, { message: 'not a gibbon unit job' });
    return { current, committed: false };
  }
  if (current?.row.id !== unit.evaluation) {
    const row = await readEvaluation(conn.pool, schema, unit.evaluation);
    if (!row || row.state !== 'running') {
      // Cancelled, failed or deleted meanwhile: the job is not worth running.
      await conn.boss.cancel(queue, job.id);
      return { current, committed: false };
    }
    await current?.opened.dispose();
    current = undefined;
    try {
      current = await openEvaluation(o, row);
    } catch (e) {
      // This worker cannot run it (files differ, model fails to open): hand the job back and stop.
      await conn.boss.fail(queue, job.id, { message: (e as Error).message }).catch(() => undefined);
      throw e;
    }
  }
  const plan = current.row.plan;
  const where = describeUnit(unit, plan.epsValues, plan.labels);
  const started = performance.now();
  try {
    if (unit.batch >= plan.batches || unit.eps >= plan.eps || (unit.eps === UNBOUNDED_EPS ? unit.stage !== 0 : unit.stage >= plan.labels.length)) {
      throw new GibbonError('internal', `job ${where} is outside evaluation ${unit.evaluation.slice(0, 12)}`);
    }
    if (current.batch?.index !== unit.batch) current.batch = { index: unit.batch, prepared: await batchOf(current.setup.ctx, plan.batchSize, unit.batch) };
    const before = predecessors(plan, unit);
    const earlier = before.length > 0 ? await readResults(conn.pool, schema, unit.evaluation, unit.batch, { eps: unit.eps, stages: before }) : [];
    if (earlier.length < before.length) throw new GibbonError('internal', `job ${where} ran before the cascade stages ahead of it had results`);
    const broken = new Set(earlier.flatMap((r) => r.record.broken));
    const result = await computeUnit(current.setup.ctx, current.batch.prepared, unit, broken);
    const inserted = await inTransaction(conn.pool, async (client: pg.PoolClient, db) => {
      const first = await insertResult(client, schema, unit.evaluation, result, o.name);
      const next = successor(plan, unit);
      if (first && next) await conn.boss.insert([jobInsert(queue, unit.evaluation, plan, next, plan.lease)], { db });
      await conn.boss.complete(queue, job.id, {}, { db });
      return first;
    });
    o.onEvent?.({ kind: 'unit', evaluation: unit.evaluation, unit: where, seconds: (performance.now() - started) / 1000, committed: inserted });
    return { current, committed: inserted };
  } catch (e) {
    if (o.signal?.aborted) {
      // Stopped mid-unit: hand the job back at once rather than after its lease.
      await conn.boss.fail(queue, job.id, { message: `worker ${o.name} stopped` }).catch(() => undefined);
      throw e;
    }
    if (isConnectionError(e)) throw e;
    // The attack itself failed: that is the evaluation's failure, not this worker's; the coordinator reports it.
    const message = `${where}: ${(e as Error).message}`;
    await recordFailure(conn.pool, schema, unit.evaluation, message);
    await conn.boss.fail(queue, job.id, { message });
    return { current, committed: false };
  }
}
