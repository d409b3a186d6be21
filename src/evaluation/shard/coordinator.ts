/**
 * The coordinator of a sharded evaluation: a BatchExecutor (evaluation/batch-executor.ts) that
 * stores the evaluation in the queue database, queues its units, lets workers (local ones it is
 * given, and any `gibbon worker` on other machines) compute them, follows their progress, and
 * assembles each batch's record from the results, in batch order. The runner then writes the
 * report exactly as after an in-process run.
 *
 * The evaluation's id is the SHA-256 of its fingerprint (model, data, threat model, attacks,
 * batch size, options, gibbon version). A queue holding unfinished jobs of another evaluation is
 * refused; an unfinished evaluation with this id is continued only with `resume`. Aborting (the
 * signal) cancels the evaluation's queued jobs; `resume` queues them again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GibbonError } from '../../errors.js';
import { sha256Hex } from '../../storage/checkpoint-file.js';
import type { BatchExecutor, ExecutorRun } from '../batch-executor.js';
import { assembleBatch } from './assemble.js';
import { connect, inTransaction, type Connection, type QueueAddress } from './database.js';
import { DEFAULT_LEASE, jobInsert, type LeaseOptions } from './jobs.js';
import {
  committedUnits,
  insertEvaluation,
  readEvaluation,
  readResults,
  restart,
  resultCounts,
  runningOthers,
  setState,
  unitKey,
  type StoredPlan,
} from './store.js';
import { isInitial, jobId, predecessors, unitsOfBatch, type Unit } from './units.js';

/** Local workers the host started for this evaluation. */
export interface LocalWorkers {
  /** Why the evaluation cannot go on with these workers (all of them died with an error), if so. */
  failure(): string | undefined;
  stop(): Promise<void>;
}

export interface ShardOptions {
  readonly address: QueueAddress;
  /** What workers open the evaluation from (the CLI stores its own options). */
  readonly spec: unknown;
  /** Continue an unfinished evaluation stored under the same id. */
  readonly resume: boolean;
  readonly lease?: LeaseOptions;
  /** Pause between looks at the results (default 500 ms). */
  readonly pollMs?: number;
  /** Starts workers on this machine once the units are queued. */
  readonly startWorkers?: (evaluation: string) => Promise<LocalWorkers>;
  /** Told the evaluation's id as soon as it is known. */
  readonly onEvaluation?: (id: string, state: 'new' | 'resumed' | 'finished') => void;
}

/** The evaluation id: a digest of everything that identifies it. */
export function evaluationId(fingerprint: Record<string, unknown>): string {
  return sha256Hex(JSON.stringify(fingerprint));
}

function planOf(run: ExecutorRun, lease: LeaseOptions): StoredPlan {
  const { ctx } = run;
  const labels = [...ctx.stages.map((s) => s.config.label), ...(ctx.checks ? ['fgsm (check)', 'noise (check)'] : [])];
  return {
    batches: ctx.batches,
    eps: ctx.tm.eps.length,
    ensembleStages: ctx.stages.length,
    checks: ctx.checks,
    epsValues: [...ctx.tm.eps],
    labels,
    batchSize: run.batchSize,
    n: ctx.options.data.labels.length,
    lease,
  };
}

/** Refuses a queue that holds unfinished jobs of another evaluation. */
async function checkQueueIsFree(conn: Connection, id: string): Promise<void> {
  const { schema, queue } = conn.address;
  const r = await conn.pool.query(
    `SELECT data->>'evaluation' AS evaluation, count(*)::int AS n FROM ${schema}_boss.job
      WHERE name = $1 AND state < 'completed' AND data->>'evaluation' <> $2 GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
    [queue, id],
  );
  const other = r.rows[0] as { evaluation: string; n: number } | undefined;
  if (!other) return;
  const running = (await runningOthers(conn.pool, schema, queue, id)).find((e) => e.id === other.evaluation);
  const what = running
    ? ` (model ${String(running.fingerprint['model']).slice(0, 12)}…, started ${running.created.toISOString()}, ${running.done} units done)`
    : '';
  throw new GibbonError(
    'invalid_option',
    `queue '${queue}' in ${conn.shown} holds ${other.n} unfinished job(s) of another evaluation, ${other.evaluation.slice(0, 12)}${what}; let it finish, resume it, or use another --queue-name`,
    { option: '--queue-name' },
  );
}

/** Queues the units of `batches` that have no result and can run now (their cascade predecessors have results). */
async function queueReady(conn: Connection, id: string, plan: StoredPlan, batches: readonly number[]): Promise<number> {
  const done = await committedUnits(conn.pool, conn.address.schema, id);
  const ready: Unit[] = [];
  for (const b of batches) {
    for (const unit of unitsOfBatch(plan, b)) {
      if (done.has(unitKey(unit))) continue;
      if (isInitial(plan, unit) || predecessors(plan, unit).every((s) => done.has(unitKey({ ...unit, stage: s })))) ready.push(unit);
    }
  }
  const { queue } = conn.address;
  for (let k = 0; k < ready.length; k += 500) {
    const slice = ready.slice(k, k + 500);
    await conn.boss.insert(slice.map((u) => jobInsert(queue, id, plan, u, plan.lease)));
    // A unit whose job was cancelled (an interrupted run) or gave up (failed) is queued again.
    const ids = slice.map((u) => jobId(id, u));
    await conn.boss.resume(queue, ids);
    await conn.boss.retry(queue, ids);
  }
  return ready.length;
}

/** Cancels every queued job of the evaluation and marks it cancelled. */
async function cancelEvaluation(conn: Connection, id: string, plan: StoredPlan, batches: readonly number[]): Promise<void> {
  await setState(conn.pool, conn.address.schema, id, 'cancelled');
  const ids = batches.flatMap((b) => unitsOfBatch(plan, b).map((u) => jobId(id, u)));
  for (let k = 0; k < ids.length; k += 500) await conn.boss.cancel(conn.address.queue, ids.slice(k, k + 500));
}

export function shardedExecutor(o: ShardOptions): BatchExecutor {
  return {
    async run(run: ExecutorRun): Promise<void> {
      const { ctx, missing } = run;
      if (missing.length === 0) return; // every batch came from the local checkpoint
      if (ctx.options.saveAdversarials) {
        throw new GibbonError('invalid_option', '--save-adversarials is not available with --queue (workers keep only the gallery’s examples)', {
          option: '--save-adversarials',
        });
      }
      const id = evaluationId(run.fingerprint);
      const lease = o.lease ?? DEFAULT_LEASE;
      const plan = planOf(run, lease);
      const conn = await connect(o.address, { application: 'gibbon-eval coordinator' });
      const { schema, queue } = conn.address;
      let workers: LocalWorkers | undefined;
      try {
        await conn.boss.createQueue(queue);
        await checkQueueIsFree(conn, id);
        const existing = await readEvaluation(conn.pool, schema, id);
        if (existing && existing.state !== 'finished' && !o.resume) {
          const done = [...(await resultCounts(conn.pool, schema, id)).values()].reduce((s, n) => s + n, 0);
          throw new GibbonError(
            'invalid_checkpoint',
            `${conn.shown} holds this evaluation (${id.slice(0, 12)}) unfinished, ${existing.state}, ${done} of ${ctx.total} units done; add --resume to continue it`,
            { option: 'resume' },
          );
        }
        if (existing) await restart(conn.pool, schema, id, queue);
        o.onEvaluation?.(id, existing ? (existing.state === 'finished' ? 'finished' : 'resumed') : 'new');
        if (!existing) {
          await inTransaction(conn.pool, async (client) => insertEvaluation(client, schema, { id, queue, spec: o.spec, fingerprint: run.fingerprint, plan }));
        }
        await queueReady(conn, id, plan, missing);
        workers = await o.startWorkers?.(id);
        await follow(conn, id, plan, run, o.pollMs ?? 500, workers);
        await setState(conn.pool, schema, id, 'finished');
      } catch (e) {
        if (ctx.options.signal?.aborted) await cancelEvaluation(conn, id, plan, missing).catch(() => undefined);
        throw e;
      } finally {
        await workers?.stop();
        await conn.close();
      }
    },
  };
}

/** Follows the results until every missing batch is assembled (in order), reporting progress; fails when a worker reported a failure. */
async function follow(conn: Connection, id: string, plan: StoredPlan, run: ExecutorRun, pollMs: number, workers: LocalWorkers | undefined): Promise<void> {
  const { ctx, missing } = run;
  const { schema } = conn.address;
  const perBatch = unitsOfBatch(plan, 0).length;
  const base = ctx.done;
  let next = 0;
  let lastExpire = 0;
  let assembledUnits = 0;
  while (next < missing.length) {
    ctx.options.signal?.throwIfAborted();
    if (Date.now() - lastExpire > 2000) {
      await conn.boss.expire();
      lastExpire = Date.now();
    }
    const dead = workers?.failure();
    if (dead) throw new GibbonError('runtime_failure', `evaluation ${id.slice(0, 12)}: ${dead}`);
    const row = await readEvaluation(conn.pool, schema, id);
    if (row?.state === 'failed') throw new GibbonError('runtime_failure', `evaluation ${id.slice(0, 12)} failed on a worker: ${row.error ?? 'no message'}`);
    if (row?.state === 'cancelled') throw new GibbonError('runtime_failure', `evaluation ${id.slice(0, 12)} was cancelled by another coordinator`);
    const counts = await resultCounts(conn.pool, schema, id);
    while (next < missing.length && counts.get(missing[next]!) === perBatch) {
      const b = missing[next]!;
      const results = await readResults(conn.pool, schema, id, b);
      run.done(await assembleBatch(ctx, run.batchSize, b, results, run.previous(b)));
      assembledUnits += perBatch;
      next++;
    }
    const computed = missing.slice(next).reduce((s, b) => s + (counts.get(b) ?? 0), 0);
    ctx.done = base + assembledUnits + computed;
    ctx.options.onProgress?.({
      batch: missing[Math.min(next, missing.length - 1)]!,
      batches: ctx.batches,
      done: ctx.done,
      total: ctx.total,
      resumed: ctx.resumed,
    });
    if (next < missing.length) await sleep(pollMs);
  }
}
