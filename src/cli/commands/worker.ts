/**
 * `gibbon worker --queue postgres://… [--queue-name NAME] [--threads N]`: computes units of sharded
 * evaluations (evaluation/shard/worker.ts) until stopped (Ctrl-C, SIGTERM) or, with --idle-exit,
 * until the queue has been empty that long. Each evaluation is opened from the options its
 * coordinator stored (`gibbon eval` with --queue), relative to the coordinator's working folder
 * when that folder exists here; the worker checks that what it opened has the coordinator's
 * fingerprint (same model file, data, threat model). One line per unit on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { GibbonError } from '../../errors.js';
import type { QueueAddress } from '../../evaluation/shard/database.js';
import type { LocalWorkers } from '../../evaluation/shard/coordinator.js';
import { runWorker, type OpenedEvaluation } from '../../evaluation/shard/worker.js';
import { openEvalInputs, readEvalPlan } from '../eval-inputs.js';
import { queueAddress, type ShardValues } from '../shard-eval.js';
import type { Terminal } from '../terminal.js';
import type { EvalValues } from './eval.js';

export interface WorkerValues extends ShardValues {
  readonly name?: string;
  readonly threads?: number;
  readonly idleExit?: number;
  readonly dbTimeout?: number;
}

/** What a coordinator stores for its workers. */
export interface WorkerSpec {
  readonly values: EvalValues;
  readonly cwd: string;
}

function isWorkerSpec(spec: unknown): spec is WorkerSpec {
  const s = spec as Partial<WorkerSpec> | null;
  return typeof s === 'object' && s !== null && typeof s.cwd === 'string' && typeof s.values === 'object' && s.values !== null;
}

/** Opens a stored evaluation the way `gibbon eval` opened it, with this worker's threads. */
async function openStored(spec: unknown, threads: number | undefined, terminal: Terminal): Promise<OpenedEvaluation> {
  if (!isWorkerSpec(spec)) throw new GibbonError('invalid_input', 'the queue database holds an evaluation spec this gibbon cannot read');
  if (existsSync(spec.cwd) && statSync(spec.cwd).isDirectory()) process.chdir(spec.cwd);
  const values: EvalValues = { ...spec.values, threads };
  const { tm, ensemble } = readEvalPlan(values);
  const { models, options } = await openEvalInputs(values, tm, ensemble, (line) => terminal.note(line));
  return { options, dispose: () => models.dispose() };
}

export async function run(values: WorkerValues, terminal: Terminal): Promise<void> {
  const address = queueAddress(values);
  const name = values.name ?? `${hostname()}-${process.pid}`;
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const { committed } = await runWorker({
      address,
      name,
      open: (spec) => openStored(spec, values.threads, terminal),
      signal: controller.signal,
      idleExitMs: values.idleExit !== undefined ? values.idleExit * 1000 : undefined,
      queryTimeoutMs: values.dbTimeout !== undefined ? values.dbTimeout * 1000 : undefined,
      connectTimeoutMs: values.dbTimeout !== undefined ? values.dbTimeout * 1000 : undefined,
      onEvent: (e) => {
        if (e.kind === 'unit')
          terminal.out(`${name}: ${e.unit} in ${e.seconds.toFixed(1)} s${e.committed ? '' : ' (already committed by another worker; discarded)'}`);
        else if (e.kind === 'lost') terminal.note(`${name}: lost the queue database (${e.message}); waiting for it`);
        else terminal.note(`${name}: rejoined the queue database`);
      },
    });
    terminal.note(`${name}: stopped after ${committed} unit(s)`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Starts `count` worker processes on this machine (the URL goes by environment, not the command line). */
export function spawnLocalWorkers(o: { address: QueueAddress; count: number; threads: number }): LocalWorkers {
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  const children: { child: ChildProcess; exit?: number | null; lastLine: string }[] = [];
  for (let k = 0; k < o.count; k++) {
    const args = [main, 'worker', '--queue', 'env', '--queue-name', o.address.queue, '--queue-schema', o.address.schema];
    args.push('--threads', String(o.threads), '--name', `${hostname()}-local-${k + 1}`);
    const child = spawn(process.execPath, args, { env: { ...process.env, GIBBON_QUEUE_URL: o.address.url }, stdio: ['ignore', 'ignore', 'pipe'] });
    const entry: (typeof children)[number] = { child, lastLine: '' };
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      if (lines.length > 0) entry.lastLine = lines[lines.length - 1]!;
    });
    child.on('exit', (code) => (entry.exit = code));
    children.push(entry);
  }
  return {
    failure: () =>
      children.length > 0 && children.every((c) => c.exit !== undefined && c.exit !== 0)
        ? `every local worker stopped with an error; the last said: ${children[children.length - 1]!.lastLine.replace(/^✖\s*/, '')}`
        : undefined,
    stop: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exit !== undefined) return resolve();
              const kill = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
              c.child.once('exit', () => (clearTimeout(kill), resolve()));
              c.child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
