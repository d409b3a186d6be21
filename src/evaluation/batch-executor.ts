/**
 * Who computes an evaluation's batches: evaluate() plans the run, reads the checkpoint and writes
 * the report; an executor computes the batches it is missing. The default runs them in this
 * process; evaluation/shard/ hands them to workers through a queue in PostgreSQL.
 */
import type { BatchRecord } from './checkpoint.js';
import type { RunContext } from './run-context.js';

export interface ExecutorRun {
  readonly ctx: RunContext;
  /** What identifies the evaluation (checkpoint.ts); its digest names a sharded evaluation. */
  readonly fingerprint: Record<string, unknown>;
  readonly batchSize: number;
  /** Batches to compute, increasing. */
  readonly missing: readonly number[];
  /** The records of the batches before `b` that are known so far (the gallery fills from them). */
  previous(b: number): BatchRecord[];
  /** Takes a finished batch's record; called in increasing batch order. */
  done(record: BatchRecord): void;
  /** Notes for the user (they end up in the report). */
  readonly notes: string[];
}

export interface BatchExecutor {
  run(run: ExecutorRun): Promise<void>;
}
