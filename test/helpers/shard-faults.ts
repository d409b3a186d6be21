/**
 * The fault drill of sharded evaluation (test/e2e/shard-faults.test.ts, and longer as `npm run
 * shard-soak`): an in-process reference run, then the same evaluation through PostgreSQL with
 * `workers` worker processes, one of which is killed with SIGKILL every `killEveryMs` (and
 * replaced), and the coordinator killed once and restarted with --resume. Returns what the checks
 * need: the two reports, the result rows and the jobs pg-boss had to retry.
 */
import { join } from 'node:path';
import { runCli, type Run } from './cli.js';
import { POSTGRES_URL, query, sleep, start, workerArgs, type Proc } from './shard.js';

export interface DrillOptions {
  readonly work: string;
  readonly schema: string;
  /** eval's arguments (model, n, attacks …), without --out and the queue options. */
  readonly evalArgs: readonly string[];
  readonly workers: number;
  readonly killEveryMs: number;
  /** Kill the coordinator after this many worker kills. */
  readonly coordinatorKillAfter: number;
  readonly leaseSeconds: number;
  /** Give up after this long. */
  readonly timeoutMs: number;
}

export interface DrillResult {
  readonly reference: Run;
  readonly final: { code: number | null; stdout: string; stderr: string };
  readonly referenceReport: string;
  readonly shardedReport: string;
  readonly workerKills: number;
  readonly coordinatorKilled: boolean;
  readonly rows: { units: number; distinct: number };
  readonly retriedJobs: number;
}

export async function faultDrill(o: DrillOptions): Promise<DrillResult> {
  const reference = await runCli(o.work, 'eval', ...o.evalArgs, '--out', 'reference');
  const queueArgs = ['--queue', POSTGRES_URL, '--queue-schema', o.schema, '--lease', String(o.leaseSeconds), '--workers', '0', '--out', 'sharded'];
  let coordinator: Proc = start(o.work, ['eval', ...o.evalArgs, ...queueArgs]);
  let coordinatorKilled = false;
  let finished: Awaited<Proc['done']> | undefined;
  const workers: Proc[] = [];
  let serial = 0;
  const spawnWorker = (): void => void workers.push(start(o.work, workerArgs(o.schema, `drill-${serial++}`)));
  for (let k = 0; k < o.workers; k++) spawnWorker();
  let workerKills = 0;
  const deadline = Date.now() + o.timeoutMs;
  try {
    for (;;) {
      const outcome = await Promise.race([coordinator.done, sleep(o.killEveryMs).then(() => undefined)]);
      if (outcome) {
        finished = outcome;
        break;
      }
      if (Date.now() > deadline) throw new Error(`the drill did not finish in ${o.timeoutMs} ms`);
      const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      const victim = live[Math.floor(Math.random() * live.length)];
      if (victim) {
        victim.child.kill('SIGKILL');
        workerKills++;
        spawnWorker();
      }
      if (!coordinatorKilled && workerKills >= o.coordinatorKillAfter) {
        coordinator.child.kill('SIGKILL');
        await coordinator.done;
        coordinatorKilled = true;
        coordinator = start(o.work, ['eval', ...o.evalArgs, ...queueArgs, '--resume']);
      }
    }
  } finally {
    for (const w of workers) w.child.kill('SIGKILL');
    coordinator.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.done));
  }
  const rows = (
    await query<{ units: number; distinct: number }>(
      `SELECT count(*)::int AS units, count(DISTINCT (batch, eps, stage))::int AS distinct FROM ${o.schema}.results`,
    )
  )[0]!;
  const retried = await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${o.schema}_boss.job WHERE retry_count > 0`);
  return {
    reference,
    final: finished,
    referenceReport: join(o.work, 'reference', 'report.json'),
    shardedReport: join(o.work, 'sharded', 'report.json'),
    workerKills,
    coordinatorKilled,
    rows,
    retriedJobs: retried[0]!.n,
  };
}
