/**
 * `gibbon worker --queue postgres://… [--queue-name NAME] [--threads N]`: computes units of sharded
 * evaluations (evaluation/shard/worker.ts) until stopped (Ctrl-C, SIGTERM) or, with --idle-exit,
 * until the queue has been empty that long. Each evaluation is opened from the options its
 * coordinator stored (`gibbon eval` with --queue), relative to the coordinator's working folder
 * when that folder exists here; the worker checks that what it opened has the coordinator's
 * fingerprint (same model file, data, threat model). One line per unit on stdout.
 */
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { GibbonError } from '../../errors.js';
import { runWorker, type OpenedEvaluation } from '../../evaluation/shard/worker.js';
import { openEvalInputs, queueAddress, readEvalPlan, type EvalValues, type ShardValues, type WorkerSpec } from '../eval-inputs.js';
import type { Terminal } from '../terminal.js';

export interface WorkerValues extends ShardValues {
  readonly name?: string;
  readonly threads?: number;
  readonly idleExit?: number;
  readonly dbTimeout?: number;
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
