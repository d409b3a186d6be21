/**
 * `gibbon eval --queue postgres://… [--workers N]`: the evaluation's batches are computed by
 * workers through a queue in PostgreSQL (evaluation/shard/). This file builds the sharded executor
 * for eval.ts: the spec workers open the evaluation from (eval's own options and working folder),
 * N local `gibbon worker` processes, and Ctrl-C, which cancels the evaluation's queued jobs.
 */
import { GibbonError } from '../errors.js';
import type { BatchExecutor } from '../evaluation/runner.js';
import { shardedExecutor } from '../evaluation/shard/coordinator.js';
import { DEFAULT_LEASE } from '../evaluation/shard/jobs.js';
import { queueAddress, type EvalValues, type WorkerSpec } from './eval-inputs.js';
import { spawnLocalWorkers } from './local-workers.js';
import type { Terminal } from './terminal.js';
import { availableParallelism } from 'node:os';

/** What workers need to open the evaluation: eval's own options (no outputs) and the folder relative paths are relative to. */
function specOf(values: EvalValues): WorkerSpec {
  const evaluation: Record<string, unknown> = { ...values };
  for (const key of ['out', 'resume', 'junit', 'failUnder', 'saveAdversarials', 'queue', 'queueName', 'queueSchema', 'workers', 'lease', 'threads'])
    delete evaluation[key];
  return { values: evaluation as unknown as EvalValues, cwd: process.cwd() };
}

export async function shardedRun(values: EvalValues, terminal: Terminal): Promise<{ executor: BatchExecutor; signal: AbortSignal; release(): void }> {
  const address = queueAddress(values);
  const controller = new AbortController();
  const onSignal = (): void => {
    terminal.note('interrupted: cancelling the evaluation’s queued jobs (run again with --resume to continue)');
    controller.abort(
      new GibbonError('runtime_failure', 'interrupted (Ctrl-C); the evaluation’s queued jobs were cancelled; run the same command with --resume to continue'),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const count = values.workers ?? 0;
  const threads = Math.max(1, Math.floor((values.threads ?? availableParallelism()) / Math.max(1, count)));
  const executor = shardedExecutor({
    address,
    spec: specOf(values),
    resume: values.resume ?? false,
    lease: { ...DEFAULT_LEASE, leaseSeconds: values.lease ?? DEFAULT_LEASE.leaseSeconds },
    onEvaluation: (id, state) =>
      terminal.note(
        `evaluation ${id.slice(0, 12)} (${state}) on queue '${address.queue}'${count > 0 ? `, ${count} local worker(s) with ${threads} thread(s) each` : ''}`,
      ),
    startWorkers: count > 0 ? async () => spawnLocalWorkers({ address, count, threads }) : undefined,
  });
  return {
    executor,
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
