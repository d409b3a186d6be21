/**
 * The evaluation runner: a threat model, a model, data and an attack ensemble in; a `Report`
 * (report/schema.ts) out, with report.json and report.html written to the output folder.
 *
 * Per batch of examples: clean predictions; then per ε the ensemble as a cascade (AutoAttack's
 * robust flags: each stage attacks only the examples every earlier stage left robust; per example
 * the first success counts); then, for white-box threat models, the masking checks' reference runs
 * (reference-runs.ts) on every correctly classified example. The plan (which stages, which oracle)
 * is made first (plan.ts); the report is a pure summary of the batch records (summary.ts).
 *
 * Each attack gets only the oracle the threat model's knowledge allows (white-box: gradients,
 * scores or decisions; scores: scores or decisions; decision: decisions; transfer: the
 * surrogate's gradients with the target's decisions, judged on the target). Black-box oracles enforce the query budget per
 * example and attack. With `eotSamples` > 1 every gradient oracle averages over that many passes
 * (EOT, model/eot.ts), for randomised models; BPDA is the model's business (OnnxModel's
 * `nonDifferentiable` option) and is recorded here only for the report.
 *
 * After every batch the per-example outcomes go to OUT/checkpoint.json (atomically). A resumed run
 * loads the finished batches and computes only the rest; every random stream is derived from
 * (seed, batch, ε, attack), so the numbers equal those of an uninterrupted run. The batches are
 * computed by a `BatchExecutor`: in this process by default, or by workers through a queue
 * (shard/), which run the same stage functions (`prepareBatch`, `runEnsembleStage`) on one
 * (batch, ε, stage) at a time.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { runAttack, type AttackFacts } from '../attacks/attack.js';
import { createAttack } from '../attacks/registry.js';
import { GibbonError } from '../errors.js';
import { transferOracle } from '../model/transfer.js';
import { decisionOracle, scoreOracle, type Oracle } from '../model/oracles.js';
import { normByName } from '../norms/index.js';
import { checkBatchSize } from '../runtime/graph-program.js';
import { writeReportHtml, writeReportJson, type Report } from '../report/index.js';
import { subset } from '../tensor/rows.js';
import { argmaxPerRow } from '../tensor/scores.js';
import { sliceBatch, type Tensor } from '../tensor/tensor.js';
import { assembleAdversarials } from './adversarial-export.js';
import { evaluationFingerprint, openCheckpoint, writeCheckpoint, type BatchRecord } from './checkpoint.js';
import { rawUnitsOf } from './channel-bounds.js';
import { galleryItems, saveFirstBreaks } from './gallery.js';
import { chooseTargets, knowledgeAllowsChecks, planStages, stageSeed, type PlannedStage } from './plan.js';
import { forwardDifference, runNoise, runSingleStep, runUnbounded, NOISE_LABEL, SINGLE_STEP_LABEL, UNBOUNDED_LABEL } from './reference-runs.js';
import {
  progressBase,
  unitDone,
  gradientOracleOf,
  whiteOf,
  type BatchInputs,
  type EvaluationOptions,
  type EvaluationResult,
  type RunContext,
} from './run-context.js';
import { emptyRun, stageRun, type FirstBreaks, type StageRecord, type StageRun } from './stage.js';
import { summarise } from './summary.js';
import type { BatchExecutor } from './batch-executor.js';

export type { BatchExecutor, ExecutorRun } from './batch-executor.js';
export type { EvaluationModel, EvaluationTarget, EvaluationOptions, EvaluationProgress, EvaluationResult } from './run-context.js';
export { NOISE_SAMPLES, NOISE_LABEL, SINGLE_STEP_LABEL } from './reference-runs.js';

export const DEFAULT_BATCH_SIZE = 128;
const DEFAULT_GALLERY_SIZE = 3;

/** The oracle of `stage`'s kind that the threat model gives the attacker. */
function oracleFor(ctx: RunContext, stage: PlannedStage): Oracle {
  const { options, tm } = ctx;
  const limits = { bounds: ctx.bounds, queryBudget: tm.query_budget };
  if (tm.knowledge === 'transfer' && stage.oracle === 'gradient') {
    // The surrogate's gradients, the target's decisions: success is judged on the target, and only
    // target queries count (model/transfer.ts).
    return transferOracle(gradientOracleOf(ctx, options.surrogate!), decisionOracle(options.model, limits));
  }
  if (stage.oracle === 'gradient') return gradientOracleOf(ctx, whiteOf(options));
  return stage.oracle === 'score' ? scoreOracle(options.model, limits) : decisionOracle(options.model, limits);
}

/** Runs one stage of the ensemble on the examples `indices` of the batch (those still robust). */
export async function runEnsembleStage(ctx: RunContext, stage: PlannedStage, batch: BatchInputs, indices: Int32Array, eps: number): Promise<StageRun> {
  const { config } = stage;
  const id = { label: config.label, attack: config.attack, role: 'ensemble', oracle: stage.oracle } as const;
  if (indices.length === 0) return emptyRun(id);
  const { x, labels, targets } = subset(batch, indices);
  const onProgress = (p: { step: number; steps: number }): void =>
    ctx.options.onProgress?.({ ...progressBase(ctx, batch.index), eps, stage: config.label, step: p.step, steps: p.steps });
  const outcome = await runAttack(createAttack(config.attack, config.options), oracleFor(ctx, stage), x, labels, {
    eps,
    norm: ctx.norm,
    targets,
    seed: stageSeed(ctx.tm, batch.index, config.label),
    signal: ctx.options.signal,
    onProgress,
  });
  return stageRun(id, indices, outcome);
}

/** The cascade and the reference runs at one ε; `first` collects each example's first break. */
async function runEps(ctx: RunContext, batch: BatchInputs, correct: Int32Array, eps: number, first: FirstBreaks): Promise<StageRecord[]> {
  const stages: StageRecord[] = [];
  const note = (run: StageRun): void => {
    stages.push(run.record);
    for (const [i, point] of run.adversarial) if (!first.has(i)) first.set(i, { stage: run.record.label, point });
  };
  for (const stage of ctx.stages) {
    ctx.options.signal?.throwIfAborted();
    const robust = correct.filter((i) => !first.has(i));
    note(await runEnsembleStage(ctx, stage, batch, robust, eps));
    unitDone(ctx, batch.index, eps, stage.config.label);
  }
  if (ctx.checks) {
    note(await runSingleStep(ctx, batch, correct, eps));
    unitDone(ctx, batch.index, eps, SINGLE_STEP_LABEL);
    note(await runNoise(ctx, batch, correct, eps));
    unitDone(ctx, batch.index, eps, NOISE_LABEL);
  }
  return stages;
}

/** One batch's inputs, its clean logits and predictions, and the examples it classifies correctly (those the attacks get). */
export interface PreparedBatch {
  readonly batch: BatchInputs;
  readonly clean: Tensor;
  readonly predictions: number[];
  readonly correct: Int32Array;
}

/** The examples [start, end) as batch `index`: clean predictions and, under a targeted threat model, targets. */
export async function prepareBatch(ctx: RunContext, index: number, start: number, end: number): Promise<PreparedBatch> {
  const { options } = ctx;
  const x = sliceBatch(options.data.x, start, end);
  const labels = options.data.labels.subarray(start, end);
  const clean = await options.model.logits(x);
  const predictions = argmaxPerRow(clean, ctx.numClasses);
  const targets = chooseTargets(ctx.tm, ctx.numClasses, start, labels, clean);
  const correct = Int32Array.from(predictions.keys()).filter((i) => predictions[i] === labels[i]);
  return { batch: { index, x, labels, targets }, clean, predictions, correct };
}

async function runBatch(ctx: RunContext, index: number, start: number, end: number, previous: readonly BatchRecord[]): Promise<BatchRecord> {
  const { options } = ctx;
  const started = performance.now();
  options.signal?.throwIfAborted();
  options.onProgress?.(progressBase(ctx, index));
  const prepared = await prepareBatch(ctx, index, start, end);
  const { batch, correct } = prepared;

  const epsRecords: BatchRecord['eps'][number][] = [];
  const firstBreaks: FirstBreaks[] = [];
  for (const eps of ctx.tm.eps) {
    const first: FirstBreaks = new Map();
    epsRecords.push({ eps, stages: await runEps(ctx, batch, correct, eps, first) });
    firstBreaks.push(first);
  }
  let unbounded: BatchRecord['unbounded'];
  if (ctx.checks) {
    options.signal?.throwIfAborted();
    unbounded = await runUnbounded(ctx, batch, correct);
    unitDone(ctx, index, undefined, UNBOUNDED_LABEL);
  }
  if (options.saveAdversarials) await saveFirstBreaks(ctx, options.saveAdversarials, batch, start, firstBreaks);
  return batchRecord(ctx, prepared, start, { eps: epsRecords, firstBreaks, unbounded, previous, seconds: () => (performance.now() - started) / 1000 });
}

/**
 * A batch's record from its stages' results (in-process, or assembled from a sharded run's units): the
 * determinism check and the gallery use the model once more. `seconds` is read when the record is made.
 */
export async function batchRecord(
  ctx: RunContext,
  { batch, clean, predictions }: PreparedBatch,
  start: number,
  parts: {
    readonly eps: BatchRecord['eps'];
    readonly firstBreaks: readonly FirstBreaks[];
    readonly unbounded: BatchRecord['unbounded'];
    readonly previous: readonly BatchRecord[];
    readonly seconds: () => number;
  },
): Promise<BatchRecord> {
  const difference = ctx.checks ? await forwardDifference(ctx, batch.x, clean) : 0;
  const gallery = await galleryItems(ctx, batch, start, clean, predictions, parts.firstBreaks, parts.previous);
  return {
    index: batch.index,
    start,
    end: start + batch.labels.length,
    predictions,
    ...(batch.targets ? { targets: Array.from(batch.targets) } : {}),
    eps: parts.eps,
    ...(parts.unbounded ? { unbounded: parts.unbounded } : {}),
    forwardDifference: difference,
    gallery,
    seconds: parts.seconds(),
  };
}

/** Refuses options the run cannot start with. */
function checkOptions(options: EvaluationOptions, batchSize: number, eotSamples: number): void {
  const { model, threatModel: tm } = options;
  const n = options.data.labels.length;
  if (options.data.x.shape[0] !== n) throw new GibbonError('internal', `data has ${options.data.x.shape[0]} inputs but ${n} labels`);
  if (n === 0) throw new GibbonError('invalid_input', 'the evaluation has no examples', { option: 'n' });
  if (tm.knowledge === 'transfer') {
    const s = options.surrogate;
    if (!s) throw new GibbonError('invalid_option', "knowledge 'transfer' needs a surrogate model", { option: 'surrogate' });
    if (s.numClasses !== model.numClasses) {
      throw new GibbonError('invalid_option', `the surrogate has ${s.numClasses} classes but the model has ${model.numClasses}`, { option: 'surrogate' });
    }
  }
  if (tm.knowledge === 'white-box' && !options.white) {
    throw new GibbonError('invalid_option', `knowledge 'white-box' needs the gradients of ${options.modelPath}, which gives scores or decisions only`, {
      option: 'knowledge',
    });
  }
  checkBatchSize(batchSize);
  if (!Number.isInteger(eotSamples) || eotSamples < 1)
    throw new GibbonError('invalid_option', `EOT samples must be a positive integer; got ${eotSamples}`, { option: 'eotSamples' });
}

/** onnxruntime's version from its package metadata (without loading it here). */
function onnxruntimeVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** What an evaluation fixes before any batch runs: the plan, the run context and the fingerprint (evaluate() and sharded workers share it). */
export interface RunSetup {
  readonly ctx: RunContext;
  readonly fingerprint: Record<string, unknown>;
  readonly batchSize: number;
  readonly batches: number;
  readonly unitsPerBatch: number;
}

/** Checks the options and plans the run (no checkpoint read: `resumed` and `done` start at 0). */
export function setupRun(options: EvaluationOptions, notes: string[]): RunSetup {
  const tm = options.threatModel;
  const model = options.model;
  const n = options.data.labels.length;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const eotSamples = options.eotSamples ?? 1;
  checkOptions(options, batchSize, eotSamples);
  const facts: AttackFacts = { numClasses: model.numClasses, exampleShape: options.data.x.shape.slice(1), targeted: tm.targeted !== false };
  const stages = planStages(options.ensemble, tm, facts, notes);
  const wantChecks = options.checks ?? true;
  const checks = wantChecks && knowledgeAllowsChecks(tm.knowledge);
  if (wantChecks && !checks) notes.push(`gradient-masking checks need white-box knowledge; skipped for knowledge '${tm.knowledge}'`);
  const gallerySize = options.gallerySize ?? DEFAULT_GALLERY_SIZE;
  const example = options.data.x.shape.slice(1);
  const imageShape = example.length === 3 && (example[0] === 1 || example[0] === 3) ? example : undefined;
  const version = options.gibbonVersion ?? 'unknown';
  const batches = Math.ceil(n / batchSize);
  const unitsPerBatch = tm.eps.length * (stages.length + (checks ? 2 : 0)) + (checks ? 1 : 0);
  const fingerprint = evaluationFingerprint(options, stages, { batchSize, checks, gallerySize, version });
  const ctx: RunContext = {
    options,
    tm,
    norm: normByName(tm.norm),
    bounds: { lower: tm.input.bounds[0], upper: tm.input.bounds[1] },
    stages,
    checks,
    numClasses: model.numClasses,
    gallerySize,
    imageShape,
    total: batches * unitsPerBatch,
    batches,
    resumed: 0,
    done: 0,
  };
  return { ctx, fingerprint, batchSize, batches, unitsPerBatch };
}

/** Computes the batches in this process, one after another. */
export const IN_PROCESS: BatchExecutor = {
  async run({ ctx, missing, batchSize, previous, done }) {
    const n = ctx.options.data.labels.length;
    for (const b of missing) done(await runBatch(ctx, b, b * batchSize, Math.min(n, (b + 1) * batchSize), previous(b)));
  },
};

/**
 * Runs the evaluation (resuming from OUT/checkpoint.json when asked) and writes the report. The
 * batches not in the checkpoint are computed by `executor` (default: in this process; a sharded
 * one hands them to workers, evaluation/shard/).
 */
export async function evaluate(options: EvaluationOptions, executor: BatchExecutor = IN_PROCESS): Promise<EvaluationResult> {
  const tm = options.threatModel;
  const notes: string[] = [];
  const model = options.model;
  const setup = setupRun(options, notes);
  const { fingerprint, batches, unitsPerBatch } = setup;
  const { stages, checks } = setup.ctx;
  const eotSamples = options.eotSamples ?? 1;
  const example = options.data.x.shape.slice(1);
  const version = options.gibbonVersion ?? 'unknown';

  let checkpoint = openCheckpoint(options.out, { fingerprint, batches, numClasses: model.numClasses, resume: options.resume ?? false, notes });
  const records = new Map<number, BatchRecord>(checkpoint.records.map((r) => [r.index, r]));
  const resumed = records.size;
  const ctx: RunContext = { ...setup.ctx, resumed, done: resumed * unitsPerBatch };

  let nonDifferentiable: { node: string; op_type: string }[] = [];
  if (tm.knowledge === 'white-box') {
    const graph = await whiteOf(options).gradientGraphFor('ce');
    nonDifferentiable = graph.nonDifferentiableNodes.map((d) => ({ node: d.name, op_type: d.opType }));
  }

  let files: { checkpoint?: string; json?: string; html?: string } = {};
  const missing = Array.from({ length: batches }, (_, b) => b).filter((b) => !records.has(b));
  // The report's run time is wall-clock: the resumed batches' recorded seconds plus this run's. (A sharded
  // batch's seconds are its units' compute time, from several workers at once, so they are not summed.)
  const resumedSeconds = [...records.values()].reduce((sum, r) => sum + r.seconds, 0);
  const started = performance.now();
  await executor.run({
    ctx,
    fingerprint,
    batchSize: setup.batchSize,
    missing,
    previous: (b) => [...records.values()].filter((r) => r.index < b),
    done: (record) => {
      records.set(record.index, record);
      if (options.out) {
        checkpoint = { ...checkpoint, records: [...records.values()].sort((p, q) => p.index - q.index) };
        files = { checkpoint: writeCheckpoint(options.out, checkpoint) };
      }
    },
    notes,
  });
  const ordered = [...records.values()].sort((p, q) => p.index - q.index);
  if (options.out) files = { checkpoint: writeCheckpoint(options.out, { ...checkpoint, records: ordered, finished: true }) };

  if (options.saveAdversarials) {
    const saved = assembleAdversarials(options.saveAdversarials, {
      model: options.modelPath,
      norm: tm.norm,
      eps: tm.eps,
      batches,
      exampleShape: example,
      units: rawUnitsOf(tm.input),
    });
    if (saved.missingBatches.length > 0) {
      notes.push(
        `adversarial examples: batches ${saved.missingBatches.join(', ')} were evaluated before saving was asked for (resumed); their adversarial examples are not in ${saved.manifest}`,
      );
    }
  }
  const report: Report = summarise(ordered, {
    seconds: resumedSeconds + (performance.now() - started) / 1000,
    threatModel: tm,
    labels: options.data.labels,
    data: options.data.source,
    iterativeLabels: new Set(stages.filter((s) => s.iterative).map((s) => s.config.label)),
    checks,
    model: {
      path: options.modelPath,
      sha256: model.ir.sha256 ?? '',
      input_shape: [...model.inputShape],
      num_classes: model.numClasses,
      outputs_probabilities: model.outputsProbabilities,
      non_differentiable_ops: nonDifferentiable,
    },
    bpda: options.bpda ?? false,
    bpdaSurrogates: options.bpdaSurrogates ?? [],
    eotSamples,
    notes,
    gibbonVersion: version,
    created: new Date().toISOString(),
    environment: {
      node: process.version,
      onnxruntime: onnxruntimeVersion(),
      platform: `${process.platform}-${process.arch}`,
      cpus: availableParallelism(),
      threads: options.threads ?? availableParallelism(),
    },
  });
  if (options.out) files = { ...files, json: writeReportJson(options.out, report), html: writeReportHtml(options.out, report) };
  return { report, files, resumedBatches: resumed, stages: stages.map((s) => s.config.label), notes };
}
