/**
 * One unit of a sharded evaluation, computed by a worker with the in-process runner's own pieces
 * (the same stage functions, seeds and sub-batches), so its record equals the one an unsharded run
 * writes for that (batch, ε, stage). Seeds are per (seed, batch, stage) as in the runner
 * (plan.ts `stageSeed`): results depend on the batch (its index and its still-robust examples),
 * not on which worker or process runs it.
 */
import { GibbonError } from '../../errors.js';
import { runNoise, runSingleStep, runUnbounded } from '../reference-runs.js';
import { prepareBatch, runEnsembleStage, type PreparedBatch } from '../runner.js';
import type { RunContext } from '../run-context.js';
import type { StageRun } from '../stage.js';
import type { UnitResult } from './store.js';
import { UNBOUNDED_EPS, type Unit } from './units.js';

/** The batch's inputs and clean predictions (the same for every unit of the batch). */
export async function batchOf(ctx: RunContext, batchSize: number, index: number): Promise<PreparedBatch> {
  const n = ctx.options.data.labels.length;
  const start = index * batchSize;
  if (index < 0 || start >= n) throw new GibbonError('internal', `batch ${index} is outside the evaluation's ${n} examples`);
  return prepareBatch(ctx, index, start, Math.min(n, start + batchSize));
}

/** The result of `run` kept for the queue: its record and the first `keep` adversarial examples (the gallery needs no more). */
export function unitResult(unit: Unit, run: StageRun, keep: number): UnitResult {
  const indices = [...run.adversarial.keys()].sort((a, b) => a - b).slice(0, keep);
  const row = indices.length > 0 ? run.adversarial.get(indices[0]!)!.length : 0;
  const points = new Float32Array(indices.length * row);
  indices.forEach((i, k) => points.set(run.adversarial.get(i)!, k * row));
  return { ...unit, record: run.record, pointIndices: indices, points };
}

/**
 * Computes `unit` on `prepared`. `brokenBefore` lists the examples the earlier cascade stages at
 * this ε broke (a cascade stage attacks only the others).
 */
export async function computeUnit(ctx: RunContext, prepared: PreparedBatch, unit: Unit, brokenBefore: ReadonlySet<number>): Promise<UnitResult> {
  const { batch, correct } = prepared;
  if (unit.eps === UNBOUNDED_EPS) {
    if (!ctx.checks) throw new GibbonError('internal', 'an unbounded-PGD unit of an evaluation without checks');
    const record = await runUnbounded(ctx, batch, correct);
    return { ...unit, record, pointIndices: [], points: new Float32Array(0) };
  }
  const eps = ctx.tm.eps[unit.eps];
  if (eps === undefined) throw new GibbonError('internal', `ε index ${unit.eps} is outside the threat model's ${ctx.tm.eps.length} budgets`);
  const s = unit.stage;
  let run: StageRun;
  if (s < ctx.stages.length) {
    run = await runEnsembleStage(
      ctx,
      ctx.stages[s]!,
      batch,
      correct.filter((i) => !brokenBefore.has(i)),
      eps,
    );
  } else if (ctx.checks && s === ctx.stages.length) {
    run = await runSingleStep(ctx, batch, correct, eps);
  } else if (ctx.checks && s === ctx.stages.length + 1) {
    run = await runNoise(ctx, batch, correct, eps);
  } else {
    throw new GibbonError('internal', `stage index ${s} is outside the evaluation's stages`);
  }
  return unitResult(unit, run, ctx.gallerySize);
}
