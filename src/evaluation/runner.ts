/**
 * The evaluation runner: a threat model, a model, data and an attack ensemble in; a `Report`
 * (report/schema.ts) out, with report.json and report.html written to the output folder.
 *
 * Per batch of examples: clean predictions; then per ε the ensemble as a cascade (each stage
 * attacks only the examples every earlier stage left robust; per example the first success
 * counts); then, for white-box threat models, the masking checks' reference runs on every
 * correctly classified example — one FGSM step and random noise at each ε, PGD with a budget
 * covering the whole input domain, and a repeated forward pass. Robust accuracy at ε is the worst
 * case per example over every run at that ε (the ensemble and the reference runs: an adversarial
 * example found by any of them is one). The report's per-attack accuracy is, for an ensemble stage,
 * the cascade's accuracy after it, and for a reference run ('fgsm (check)', 'noise (check)'), that
 * run's accuracy alone.
 *
 * Each attack gets only the oracle the threat model's knowledge allows (white-box: gradients,
 * scores or decisions; scores: scores or decisions; decision: decisions; transfer: the
 * surrogate's gradients with the target's decisions, judged on the target). Black-box oracles enforce the query budget per
 * example and attack. With `eotSamples` > 1 every gradient oracle averages over that many passes
 * (EOT, model/eot.ts), for randomised models; BPDA is the model's business (OnnxModel's
 * `nonDifferentiable` option) and is recorded here only for the report.
 *
 * Query-based attacks report the queries they spent per example; the report keeps, per black-box
 * stage and ε, the queries each broken example took, from which report.html draws success rate
 * versus queries.
 *
 * After every batch the per-example outcomes go to OUT/checkpoint.json (atomically). A resumed run
 * loads the finished batches and computes only the rest; every random stream is derived from
 * (seed, batch, ε, attack), so the numbers equal those of an uninterrupted run.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { LossName } from '../autodiff/loss-heads.js';
import { runAttack, type AttackFacts, type AttackOutcome } from '../attacks/attack.js';
import { attackEntry, createAttack } from '../attacks/registry.js';
import { adversarialMask, type Criterion } from '../criteria/criterion.js';
import { misclassification } from '../criteria/misclassification.js';
import { targetedMisclassification } from '../criteria/targeted-misclassification.js';
import type { Diagnostic } from '../diagnostics.js';
import { GibbonError } from '../errors.js';
import type { Bounds } from '../model/bounds.js';
import { eotOracle } from '../model/eot.js';
import { transferOracle } from '../model/transfer.js';
import {
  decisionOracle,
  gradientOracle,
  scoreOracle,
  type ClassifierModel,
  type DifferentiableModel,
  type GradientOracle,
  type Oracle,
  type OracleKind,
} from '../model/oracles.js';
import { normByName } from '../norms/index.js';
import type { Norm } from '../norms/norm.js';
import { deriveSeed, Rng } from '../random.js';
import { fingerprintDifferences } from '../storage/checkpoint-file.js';
import { REPORT_SCHEMA_VERSION, writeReportHtml, writeReportJson, type AttackRecord, type GalleryItem, type Report } from '../report/index.js';
import { gatherRows, gatherValues, rowSize } from '../tensor/rows.js';
import { sliceBatch, type Tensor } from '../tensor/tensor.js';
import { maskingChecks, type CheckEvidence, type EpsEvidence } from './checks.js';
import {
  removeStaleTemporaries,
  newCheckpoint,
  readCheckpoint,
  writeCheckpoint,
  CHECKPOINT_FILE,
  type BatchRecord,
  type Checkpoint,
  type StageRecord,
} from './checkpoint.js';
import type { EvaluationData } from './data.js';
import { assembleAdversarials, saveBatchAdversarials, type BrokenExample } from './adversarial-export.js';
import { oracleKindOf, type AttackConfig, type Ensemble } from './presets.js';
import { ALLOWED_ORACLES, threatModelRecord, type Knowledge, type ThreatModel } from './threat-model.js';

/** What the runner needs of the model under evaluation: class scores (an HTTP endpoint gives no more). */
export interface EvaluationTarget extends ClassifierModel {
  /** True when the model ends in Softmax (logits are then the scores feeding it). */
  readonly outputsProbabilities: boolean;
  readonly ir: { readonly sha256?: string };
}

/** And of a model it may differentiate (OnnxModel has it all). */
export interface EvaluationModel extends EvaluationTarget, DifferentiableModel {
  /** The gradient graph of a loss, for the non-differentiable ops on its path. */
  gradientGraphFor(loss: LossName): Promise<{ readonly nonDifferentiableNodes: readonly { readonly name: string; readonly opType: string }[] }>;
}

export interface EvaluationProgress {
  /** Batch being computed (0-based) and the number of batches. */
  readonly batch: number;
  readonly batches: number;
  /** Units of work finished (one unit: one attack on one batch at one ε) and planned. */
  readonly done: number;
  readonly total: number;
  /** Batches taken from the checkpoint. */
  readonly resumed: number;
  readonly eps?: number;
  /** The running attack's label. */
  readonly stage?: string;
  readonly step?: number;
  readonly steps?: number;
}

export interface EvaluationOptions {
  readonly model: EvaluationTarget;
  /** The same model's gradients, for white-box knowledge (usually the same object as `model`; an endpoint has none). */
  readonly white?: EvaluationModel;
  /** The model's path as the user gave it (for the report). */
  readonly modelPath: string;
  /** The surrogate whose gradients a transfer attacker uses (knowledge 'transfer' only). */
  readonly surrogate?: EvaluationModel;
  readonly threatModel: ThreatModel;
  readonly data: EvaluationData;
  readonly ensemble: Ensemble;
  /** Examples per batch: the unit of checkpointing (default 128). */
  readonly batchSize?: number;
  /** Folder for checkpoint.json, report.json and report.html; without it nothing is written. */
  readonly out?: string;
  /** Continue from OUT/checkpoint.json (default false: an unfinished checkpoint there is an error). */
  readonly resume?: boolean;
  /** Run the masking checks' reference runs (default true; they need white-box knowledge). */
  readonly checks?: boolean;
  /** Gallery images per ε (default 3). */
  readonly gallerySize?: number;
  /** Folder for the adversarial examples found, as .npy with a manifest (evaluation/adversarial-export.ts). */
  readonly saveAdversarials?: string;
  /** Whether the model was loaded with straight-through gradients at non-differentiable ops (BPDA). */
  readonly bpda?: boolean;
  /** BPDA surrogates the model was loaded with, described for the report (e.g. "Round → smooth-round.onnx"). */
  readonly bpdaSurrogates?: readonly string[];
  /** EOT: average every gradient (and loss, logits) over this many passes of the model (default 1: off). */
  readonly eotSamples?: number;
  /** onnxruntime threads, for the report's environment. */
  readonly threads?: number;
  readonly gibbonVersion?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: EvaluationProgress) => void;
}

export interface EvaluationResult {
  readonly report: Report;
  /** Files written (absent without `out`). */
  readonly files: { readonly checkpoint?: string; readonly json?: string; readonly html?: string };
  /** Batches loaded from the checkpoint instead of computed. */
  readonly resumedBatches: number;
  /** Labels of the ensemble's stages that ran, in cascade order. */
  readonly stages: readonly string[];
  /** Notes for the user (e.g. stages left out because the threat model does not allow them). */
  readonly notes: readonly string[];
}

export const DEFAULT_BATCH_SIZE = 128;
const DEFAULT_GALLERY_SIZE = 3;
/** Random points of the ε-ball tried per example by the noise check. */
export const NOISE_SAMPLES = 10;
/** Label of the single-step reference run. */
export const SINGLE_STEP_LABEL = 'fgsm (check)';
export const NOISE_LABEL = 'noise (check)';
/** Unbounded PGD: a budget covering the whole domain; step 2.5·ε/steps (Madry et al. 2018). */
const UNBOUNDED_STEPS = 50;

interface PlannedStage {
  readonly config: AttackConfig;
  readonly oracle: OracleKind;
  /** Whether it is an iterative gradient attack (for the single-step check). */
  readonly iterative: boolean;
}

const ORACLE_WORDS: Record<OracleKind, string> = {
  gradient: 'gradients (white-box)',
  score: 'scores (score-based black box)',
  decision: 'decisions (decision-based black box)',
};

/**
 * The ensemble's stages the threat model allows and the model admits; an explicit list may not ask
 * for more. A preset leaves out, with a note, a stage that cannot run on this model (APGD-T on two
 * classes, say); an explicit list refuses it.
 */
function planStages(ensemble: Ensemble, tm: ThreatModel, facts: AttackFacts, notes: string[]): PlannedStage[] {
  const allowed = ALLOWED_ORACLES[tm.knowledge];
  const planned: PlannedStage[] = [];
  const primary = ensemble.stages.some((c) => !c.fallback && allowed.includes(oracleKindOf(c)));
  for (const config of ensemble.stages) {
    if (config.fallback && primary) continue;
    const entry = attackEntry(config.attack);
    const oracle = oracleKindOf(config);
    if (!allowed.includes(oracle)) {
      if (ensemble.preset) {
        notes.push(
          `'${config.label}' left out of the '${ensemble.name}' ensemble: it needs ${ORACLE_WORDS[oracle]}, which knowledge '${tm.knowledge}' does not allow`,
        );
        continue;
      }
      throw new GibbonError(
        'invalid_option',
        `attack '${config.label}' needs ${ORACLE_WORDS[oracle]}, but the threat model's knowledge '${tm.knowledge}' allows only ${allowed.map((k) => ORACLE_WORDS[k]).join(', ')}`,
        { option: 'attacks' },
      );
    }
    if (!entry.norms.includes(tm.norm)) {
      throw new GibbonError('invalid_option', `attack '${config.label}' supports the norms ${entry.norms.join(', ')}, not the threat model's ${tm.norm}`, {
        option: 'attacks',
      });
    }
    const probe = createAttack(config.attack, config.options);
    const unfit = probe.inapplicable?.(facts);
    if (unfit !== undefined) {
      if (!ensemble.preset) throw new GibbonError('invalid_option', `attack '${config.label}' cannot run on this model: ${unfit}`, { option: 'attacks' });
      notes.push(`'${config.label}' left out of the '${ensemble.name}' ensemble: ${unfit}`);
      continue;
    }
    if (tm.targeted && !probe.targeted && ensemble.preset) {
      notes.push(`'${config.label}' left out of the '${ensemble.name}' ensemble: it is untargeted and the threat model is targeted`);
      continue;
    }
    if (tm.targeted && !probe.targeted) {
      throw new GibbonError('invalid_option', `attack '${config.label}' is untargeted; the threat model is targeted (targets: ${tm.targeted.targets})`, {
        option: 'attacks',
      });
    }
    planned.push({ config, oracle, iterative: oracle === 'gradient' && config.attack !== 'fgsm' });
  }
  if (planned.length === 0) {
    throw new GibbonError(
      'invalid_option',
      `the '${ensemble.name}' ensemble has no attack that knowledge '${tm.knowledge}' allows (its attacks need ${ORACLE_WORDS.gradient}); choose attacks that use ${allowed.map((k) => ORACLE_WORDS[k]).join(' or ')}`,
      { option: 'attacks' },
    );
  }
  return planned;
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

function sha256(...parts: ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

function softmax(row: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < row.length; j++) m = Math.max(m, row[j]!);
  const out = new Float64Array(row.length);
  let s = 0;
  for (let j = 0; j < row.length; j++) s += out[j] = Math.exp(row[j]! - m);
  for (let j = 0; j < row.length; j++) out[j]! /= s;
  return out;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
  return best;
}

function argmin(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! < row[best]!) best = j;
  return best;
}

/** The budget covering the whole input domain under the norm. */
function unboundedEps(tm: ThreatModel, exampleSize: number): number {
  const range = tm.input.bounds[1] - tm.input.bounds[0];
  return tm.norm === 'linf' ? range : range * Math.sqrt(exampleSize);
}

/** Everything a batch computation needs, fixed for the whole run. */
interface RunContext {
  readonly options: EvaluationOptions;
  readonly tm: ThreatModel;
  readonly norm: Norm;
  readonly bounds: Bounds;
  readonly stages: readonly PlannedStage[];
  readonly checks: boolean;
  readonly numClasses: number;
  readonly gallerySize: number;
  readonly imageShape: readonly number[] | undefined;
  readonly total: number;
  readonly batches: number;
  readonly resumed: number;
  done: number;
}

function criterionFor(labels: Int32Array, targets: Int32Array | undefined, numClasses: number): Criterion {
  return targets ? targetedMisclassification(labels, targets, numClasses) : misclassification(labels, numClasses);
}

function emptyStage(label: string, attack: string, role: StageRecord['role'], oracle: StageRecord['oracle']): StageRecord {
  return {
    label,
    attack,
    role,
    oracle,
    attacked: 0,
    broken: [],
    norms: [],
    maxNorm: 0,
    queries: 0,
    steps: 0,
    seconds: 0,
    zeroGradient: 0,
    gradientMeasured: 0,
    flatLoss: 0,
    lossMeasured: 0,
    warnings: [],
  };
}

interface StageRun {
  readonly record: StageRecord;
  /** Adversarial example (row data) per broken batch-local index. */
  readonly adversarial: Map<number, Float32Array>;
}

/** Turns a harness outcome on the sub-batch `indices` into a stage record (batch-local indices). */
function stageRecord(
  label: string,
  attack: string,
  role: StageRecord['role'],
  oracle: StageRecord['oracle'],
  indices: Int32Array,
  outcome: AttackOutcome,
  success: Uint8Array,
  queries: number,
): StageRun {
  const broken: number[] = [];
  const norms: number[] = [];
  const adversarial = new Map<number, Float32Array>();
  const row = rowSize(outcome.clipped);
  // Queries per example of the sub-batch (query-based attacks; 0 for examples never attacked).
  const perExample = outcome.diagnostics?.queriesPerExample;
  const queriesOf = new Int32Array(indices.length);
  if (perExample) outcome.attacked.forEach((j, r) => (queriesOf[j] = perExample[r]!));
  const brokenQueries: number[] = [];
  let maxNorm = 0;
  for (let j = 0; j < indices.length; j++) {
    maxNorm = Math.max(maxNorm, outcome.norms[j]!);
    if (success[j]) {
      broken.push(indices[j]!);
      norms.push(outcome.norms[j]!);
      brokenQueries.push(queriesOf[j]!);
      adversarial.set(indices[j]!, outcome.clipped.data.slice(j * row, (j + 1) * row));
    }
  }
  let zeroGradient = 0;
  let gradientMeasured = 0;
  let flatLoss = 0;
  let lossMeasured = 0;
  const d = outcome.diagnostics;
  if (d) {
    for (let r = 0; r < outcome.attacked.length; r++) {
      const j = outcome.attacked[r]!;
      if (d.zeroGradient) {
        gradientMeasured++;
        zeroGradient += d.zeroGradient[r]!;
      }
      const start = d.initialLoss?.[r];
      const best = d.bestLoss?.[r];
      if (!success[j] && start !== undefined && best !== undefined && Number.isFinite(start) && Number.isFinite(best)) {
        lossMeasured++;
        if (best <= start + 1e-6 * Math.max(1, Math.abs(start))) flatLoss++;
      }
    }
  }
  const warnings = outcome.warnings.map((w: Diagnostic) => ({ code: w.code, severity: w.severity, message: w.message }));
  return {
    record: {
      label,
      attack,
      role,
      oracle,
      attacked: indices.length,
      broken,
      norms,
      maxNorm,
      queries,
      steps: outcome.steps,
      seconds: outcome.seconds,
      zeroGradient,
      gradientMeasured,
      flatLoss,
      lossMeasured,
      warnings,
      ...(perExample ? { brokenQueries } : {}),
    },
    adversarial,
  };
}

/** The evaluated model's gradients; evaluate() has refused white-box knowledge without them. */
function whiteOf(options: EvaluationOptions): EvaluationModel {
  if (!options.white) throw new GibbonError('internal', 'a white-box stage ran without the model’s gradients');
  return options.white;
}

/** A gradient oracle of `model`, averaged over `eotSamples` passes when EOT is on. */
function gradientOracleOf(ctx: RunContext, model: DifferentiableModel): GradientOracle {
  return eotOracle(gradientOracle(model, { bounds: ctx.bounds }), ctx.options.eotSamples ?? 1);
}

interface BatchInputs {
  readonly index: number;
  readonly x: Tensor;
  readonly labels: Int32Array;
  readonly targets: Int32Array | undefined;
}

/** Runs one attack config on the examples `indices` of the batch. */
async function runEnsembleStage(ctx: RunContext, stage: PlannedStage, batch: BatchInputs, indices: Int32Array, eps: number): Promise<StageRun> {
  const { options, tm } = ctx;
  const { config, oracle: kind } = stage;
  if (indices.length === 0) return { record: emptyStage(config.label, config.attack, 'ensemble', kind), adversarial: new Map() };
  const x = gatherRows(batch.x, indices);
  const labels = gatherValues(batch.labels, indices);
  const targets = batch.targets && gatherValues(batch.targets, indices);
  const attack = createAttack(config.attack, config.options);
  const seed = deriveSeed(tm.seed, 'batch', batch.index, 'stage', config.label);
  const onProgress = (p: { step: number; steps: number }): void =>
    options.onProgress?.({ ...progressBase(ctx, batch.index), eps, stage: config.label, step: p.step, steps: p.steps });
  let oracle: Oracle;
  if (tm.knowledge === 'transfer' && kind === 'gradient') {
    // The surrogate's gradients, the target's decisions: success is judged on the target, and only
    // target queries count (model/transfer.ts).
    const target = decisionOracle(options.model, { bounds: ctx.bounds, queryBudget: tm.query_budget });
    oracle = transferOracle(gradientOracleOf(ctx, options.surrogate!), target);
  } else if (kind === 'gradient') oracle = gradientOracleOf(ctx, whiteOf(options));
  else if (kind === 'score') oracle = scoreOracle(options.model, { bounds: ctx.bounds, queryBudget: tm.query_budget });
  else oracle = decisionOracle(options.model, { bounds: ctx.bounds, queryBudget: tm.query_budget });
  const outcome = await runAttack(attack, oracle, x, labels, { eps, norm: ctx.norm, targets, seed, signal: options.signal, onProgress });
  return stageRecord(config.label, config.attack, 'ensemble', kind, indices, outcome, outcome.success, outcome.queries);
}

/** One FGSM step (Goodfellow et al. 2015) on the examples `indices`: the single-step reference. */
async function runSingleStep(ctx: RunContext, batch: BatchInputs, indices: Int32Array, eps: number): Promise<StageRun> {
  if (indices.length === 0) return { record: emptyStage(SINGLE_STEP_LABEL, 'fgsm', 'check', 'gradient'), adversarial: new Map() };
  const x = gatherRows(batch.x, indices);
  const labels = gatherValues(batch.labels, indices);
  const targets = batch.targets && gatherValues(batch.targets, indices);
  const outcome = await runAttack(createAttack('fgsm'), gradientOracleOf(ctx, whiteOf(ctx.options)), x, labels, {
    eps,
    norm: ctx.norm,
    targets,
    seed: deriveSeed(ctx.tm.seed, 'batch', batch.index, 'stage', SINGLE_STEP_LABEL),
    signal: ctx.options.signal,
  });
  return stageRecord(SINGLE_STEP_LABEL, 'fgsm', 'check', 'gradient', indices, outcome, outcome.success, outcome.queries);
}

/** Random points of the ε-ball (∩ bounds), NOISE_SAMPLES per example; the first adversarial one counts. */
async function runNoise(ctx: RunContext, batch: BatchInputs, indices: Int32Array, eps: number): Promise<StageRun> {
  const record = emptyStage(NOISE_LABEL, 'noise', 'check', 'none');
  const adversarial = new Map<number, Float32Array>();
  if (indices.length === 0) return { record, adversarial };
  const started = performance.now();
  const rng = Rng.derive(ctx.tm.seed, 'batch', batch.index, 'stage', NOISE_LABEL, 'eps', eps);
  const x = gatherRows(batch.x, indices);
  const criterion = criterionFor(gatherValues(batch.labels, indices), batch.targets && gatherValues(batch.targets, indices), ctx.numClasses);
  const row = rowSize(x);
  const found = new Map<number, { norm: number; point: Float32Array }>();
  let maxNorm = 0;
  let queries = 0;
  let remaining = Int32Array.from(indices.keys());
  for (let t = 0; t < NOISE_SAMPLES && remaining.length > 0; t++) {
    ctx.options.signal?.throwIfAborted();
    const x0 = gatherRows(x, remaining);
    const xr = ctx.norm.randomStart(x0, eps, rng, ctx.bounds);
    const verdict = adversarialMask(criterion.subset(remaining), await ctx.options.model.logits(xr));
    queries += remaining.length;
    const dist = ctx.norm.distance(xr, x0);
    const keep: number[] = [];
    for (let r = 0; r < remaining.length; r++) {
      maxNorm = Math.max(maxNorm, dist[r]!);
      if (verdict[r]) found.set(remaining[r]!, { norm: dist[r]!, point: xr.data.slice(r * row, (r + 1) * row) });
      else keep.push(remaining[r]!);
    }
    remaining = Int32Array.from(keep);
  }
  const broken: number[] = [];
  const norms: number[] = [];
  for (let j = 0; j < indices.length; j++) {
    const f = found.get(j);
    if (!f) continue;
    broken.push(indices[j]!);
    norms.push(f.norm);
    adversarial.set(indices[j]!, f.point);
  }
  return {
    record: { ...record, attacked: indices.length, broken, norms, maxNorm, queries, seconds: (performance.now() - started) / 1000 },
    adversarial,
  };
}

/** PGD with a budget covering the whole input domain on the examples `indices`. */
async function runUnbounded(ctx: RunContext, batch: BatchInputs, indices: Int32Array): Promise<StageRecord & { eps: number }> {
  const eps = unboundedEps(ctx.tm, rowSize(batch.x));
  const label = 'pgd (unbounded)';
  if (indices.length === 0) return { ...emptyStage(label, 'pgd', 'check', 'gradient'), eps };
  const x = gatherRows(batch.x, indices);
  const labels = gatherValues(batch.labels, indices);
  const targets = batch.targets && gatherValues(batch.targets, indices);
  const attack = createAttack('pgd', { steps: UNBOUNDED_STEPS, relStepsize: 2.5 / UNBOUNDED_STEPS });
  const outcome = await runAttack(attack, gradientOracleOf(ctx, whiteOf(ctx.options)), x, labels, {
    eps,
    norm: ctx.norm,
    targets,
    seed: deriveSeed(ctx.tm.seed, 'batch', batch.index, 'stage', label),
    signal: ctx.options.signal,
  });
  return { ...stageRecord(label, 'pgd', 'check', 'gradient', indices, outcome, outcome.success, outcome.queries).record, eps };
}

function progressBase(ctx: RunContext, batch: number): EvaluationProgress {
  return { batch, batches: ctx.batches, done: ctx.done, total: ctx.total, resumed: ctx.resumed };
}

function unitDone(ctx: RunContext, batch: number, eps?: number, stage?: string): void {
  ctx.done++;
  ctx.options.onProgress?.({ ...progressBase(ctx, batch), eps, stage });
}

/** Target classes for a targeted threat model (per example, independent of batching). */
function chooseTargets(ctx: RunContext, start: number, labels: Int32Array, logits: Tensor): Int32Array | undefined {
  const targeted = ctx.tm.targeted;
  if (!targeted) return undefined;
  const c = ctx.numClasses;
  return Int32Array.from(labels, (y, i) => {
    if (targeted.targets === 'least-likely') {
      const row = logits.data.slice(i * c, (i + 1) * c);
      row[y] = Infinity;
      return argmin(row);
    }
    const k = Rng.derive(ctx.tm.seed, 'target', start + i).integer(c - 1);
    return k >= y ? k + 1 : k;
  });
}

async function runBatch(ctx: RunContext, index: number, start: number, end: number, previous: readonly BatchRecord[]): Promise<BatchRecord> {
  const { options } = ctx;
  const started = performance.now();
  options.signal?.throwIfAborted();
  options.onProgress?.(progressBase(ctx, index));
  const x = sliceBatch(options.data.x, start, end);
  const labels = options.data.labels.subarray(start, end);
  const c = ctx.numClasses;
  const clean = await options.model.logits(x);
  const predictions = Array.from({ length: end - start }, (_, i) => argmax(clean.data.subarray(i * c, (i + 1) * c)));
  const targets = chooseTargets(ctx, start, labels, clean);
  const batch: BatchInputs = { index, x, labels, targets };
  const correct = Int32Array.from(predictions.keys()).filter((i) => predictions[i] === labels[i]);

  const epsRecords: BatchRecord['eps'][number][] = [];
  const firstBreaks: Map<number, { stage: string; point: Float32Array }>[] = [];
  for (const eps of ctx.tm.eps) {
    const stages: StageRecord[] = [];
    const first = new Map<number, { stage: string; point: Float32Array }>();
    const note = (run: StageRun): void => {
      stages.push(run.record);
      for (const [i, point] of run.adversarial) if (!first.has(i)) first.set(i, { stage: run.record.label, point });
    };
    for (const stage of ctx.stages) {
      options.signal?.throwIfAborted();
      const robust = correct.filter((i) => !first.has(i));
      note(await runEnsembleStage(ctx, stage, batch, robust, eps));
      unitDone(ctx, index, eps, stage.config.label);
    }
    if (ctx.checks) {
      note(await runSingleStep(ctx, batch, correct, eps));
      unitDone(ctx, index, eps, SINGLE_STEP_LABEL);
      note(await runNoise(ctx, batch, correct, eps));
      unitDone(ctx, index, eps, NOISE_LABEL);
    }
    epsRecords.push({ eps, stages });
    firstBreaks.push(first);
  }

  let unbounded: BatchRecord['unbounded'];
  let forwardDifference = 0;
  if (ctx.checks) {
    options.signal?.throwIfAborted();
    unbounded = await runUnbounded(ctx, batch, correct);
    const again = await options.model.logits(x);
    let scale = 1;
    for (let j = 0; j < again.data.length; j++) {
      forwardDifference = Math.max(forwardDifference, Math.abs(again.data[j]! - clean.data[j]!));
      scale = Math.max(scale, Math.abs(clean.data[j]!));
    }
    forwardDifference /= scale;
    unitDone(ctx, index, undefined, 'pgd (unbounded)');
  }

  const gallery = await galleryItems(ctx, batch, start, clean, predictions, firstBreaks, previous);
  if (options.saveAdversarials) await saveBroken(ctx, options.saveAdversarials, batch, start, firstBreaks);
  return {
    index,
    start,
    end,
    predictions,
    ...(targets ? { targets: Array.from(targets) } : {}),
    eps: epsRecords,
    ...(unbounded ? { unbounded } : {}),
    forwardDifference,
    gallery,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Writes the batch's adversarial examples (the first break of each example at each ε). */
async function saveBroken(
  ctx: RunContext,
  dir: string,
  batch: BatchInputs,
  start: number,
  firstBreaks: readonly Map<number, { stage: string; point: Float32Array }>[],
): Promise<void> {
  const broken: BrokenExample[] = [];
  ctx.tm.eps.forEach((eps, e) => {
    const byIndex = [...firstBreaks[e]!.entries()].sort((p, q) => p[0] - q[0]);
    for (const [i, f] of byIndex) broken.push({ index: start + i, eps, attack: f.stage, label: Number(batch.labels[i]), point: f.point });
  });
  const shape = batch.x.shape.slice(1);
  const row = shape.reduce((a, b) => a * b, 1);
  const c = ctx.numClasses;
  await saveBatchAdversarials(
    dir,
    batch.index,
    broken,
    shape,
    ctx.norm,
    (index) => batch.x.data.subarray((index - start) * row, (index - start + 1) * row),
    async (points) => {
      const z = await ctx.options.model.logits(points);
      return Array.from({ length: points.shape[0]! }, (_, k) => argmax(z.data.subarray(k * c, (k + 1) * c)));
    },
  );
}

/** Gallery items from this batch, only as many per ε as the earlier batches left to fill. */
async function galleryItems(
  ctx: RunContext,
  batch: BatchInputs,
  start: number,
  clean: Tensor,
  predictions: readonly number[],
  firstBreaks: readonly Map<number, { stage: string; point: Float32Array }>[],
  previous: readonly BatchRecord[],
): Promise<GalleryItem[]> {
  const shape = ctx.imageShape;
  if (!shape || ctx.gallerySize === 0) return [];
  const c = ctx.numClasses;
  const row = rowSize(batch.x);
  const chosen: { eps: number; i: number; stage: string; point: Float32Array }[] = [];
  ctx.tm.eps.forEach((eps, k) => {
    const have = previous.reduce((s, r) => s + r.gallery.filter((g) => g.eps === eps).length, 0);
    const want = ctx.gallerySize - have;
    const breaks = [...firstBreaks[k]!.entries()].sort((a, b) => a[0] - b[0]).slice(0, Math.max(0, want));
    for (const [i, b] of breaks) chosen.push({ eps, i, stage: b.stage, point: b.point });
  });
  if (chosen.length === 0) return [];
  const adv = new Float32Array(chosen.length * row);
  chosen.forEach((ch, r) => adv.set(ch.point, r * row));
  const logits = await ctx.options.model.logits({ data: adv, shape: [chosen.length, ...batch.x.shape.slice(1)] });
  return chosen.map((ch, r) => {
    const p0 = softmax(clean.data.subarray(ch.i * c, (ch.i + 1) * c));
    const p1 = softmax(logits.data.subarray(r * c, (r + 1) * c));
    const advPrediction = argmax(p1);
    return {
      index: start + ch.i,
      eps: ch.eps,
      attack: ch.stage,
      label: batch.labels[ch.i]!,
      clean_prediction: predictions[ch.i]!,
      clean_confidence: p0[predictions[ch.i]!]!,
      adversarial_prediction: advPrediction,
      adversarial_confidence: p1[advPrediction]!,
      shape: [...shape],
      clean: Array.from(batch.x.data.subarray(ch.i * row, (ch.i + 1) * row)),
      adversarial: Array.from(ch.point),
    };
  });
}

/** What identifies an evaluation: a resumed run must agree on all of it. */
function fingerprintOf(
  options: EvaluationOptions,
  stages: readonly PlannedStage[],
  batchSize: number,
  checks: boolean,
  gallerySize: number,
  version: string,
): Record<string, unknown> {
  return {
    gibbon: version,
    // A model without a file hash (built in memory) is identified by the path it was given.
    model: options.model.ir.sha256 ?? `path:${options.modelPath}`,
    surrogate: options.surrogate?.ir.sha256 ?? null,
    threat_model: threatModelRecord(options.threatModel),
    data: { source: options.data.source, n: options.data.labels.length, sha256: sha256(options.data.x.data, options.data.labels) },
    attacks: stages.map((s) => ({ label: s.config.label, attack: s.config.attack, options: s.config.options })),
    batch_size: batchSize,
    checks,
    bpda: options.bpda ?? false,
    ...(options.bpdaSurrogates?.length ? { bpda_surrogates: options.bpdaSurrogates } : {}),
    ...((options.eotSamples ?? 1) > 1 ? { eot_samples: options.eotSamples } : {}),
    gallery: gallerySize,
  };
}

function knowledgeAllowsChecks(knowledge: Knowledge): boolean {
  return knowledge === 'white-box';
}

/** Runs the evaluation (resuming from OUT/checkpoint.json when asked) and writes the report. */
export async function evaluate(options: EvaluationOptions): Promise<EvaluationResult> {
  const tm = options.threatModel;
  const notes: string[] = [];
  const model = options.model;
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
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new GibbonError('invalid_option', `batch size must be a positive integer; got ${batchSize}`, { option: 'batchSize' });
  const eotSamples = options.eotSamples ?? 1;
  if (!Number.isInteger(eotSamples) || eotSamples < 1)
    throw new GibbonError('invalid_option', `EOT samples must be a positive integer; got ${eotSamples}`, { option: 'eotSamples' });
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
  const fingerprint = fingerprintOf(options, stages, batchSize, checks, gallerySize, version);

  let checkpoint: Checkpoint = newCheckpoint(fingerprint, batches);
  if (options.out) {
    removeStaleTemporaries(options.out);
    const existing = readCheckpoint(options.out, { numClasses: model.numClasses });
    const where = `${options.out}/${CHECKPOINT_FILE}`;
    if (existing?.damaged && options.resume) {
      for (const d of existing.damaged) notes.push(`${where} is damaged: ${d}; that record is dropped and its batch computed again`);
    }
    if (existing && options.resume) {
      const differ = fingerprintDifferences(existing.fingerprint, fingerprint);
      if (differ.length > 0) {
        throw new GibbonError(
          'invalid_checkpoint',
          `${where} belongs to a different evaluation (it differs in: ${differ.join(', ')}); resume with the same model, threat model, data, attacks and batch size, or use another output folder`,
          { path: where, option: 'resume' },
        );
      }
      checkpoint = existing;
    } else if (existing && !existing.finished) {
      throw new GibbonError(
        'invalid_checkpoint',
        `${where} holds an unfinished evaluation (${existing.records.length} of ${existing.batches} batches done); resume it (--resume), or delete it or choose another output folder to start over`,
        { path: where, option: 'resume' },
      );
    }
  }
  const records = new Map<number, BatchRecord>(checkpoint.records.map((r) => [r.index, r]));
  const resumed = records.size;
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
    resumed,
    done: resumed * unitsPerBatch,
  };

  let nonDifferentiable: { node: string; op_type: string }[] = [];
  if (tm.knowledge === 'white-box') {
    const graph = await whiteOf(options).gradientGraphFor('ce');
    nonDifferentiable = graph.nonDifferentiableNodes.map((d) => ({ node: d.name, op_type: d.opType }));
  }

  let files: { checkpoint?: string; json?: string; html?: string } = {};
  for (let b = 0; b < batches; b++) {
    if (records.has(b)) continue;
    const start = b * batchSize;
    const end = Math.min(n, start + batchSize);
    const previous = [...records.values()].filter((r) => r.index < b);
    const record = await runBatch(ctx, b, start, end, previous);
    records.set(b, record);
    if (options.out) {
      checkpoint = { ...checkpoint, records: [...records.values()].sort((p, q) => p.index - q.index) };
      files = { checkpoint: writeCheckpoint(options.out, checkpoint) };
    }
  }
  const ordered = [...records.values()].sort((p, q) => p.index - q.index);
  if (options.out) files = { checkpoint: writeCheckpoint(options.out, { ...checkpoint, records: ordered, finished: true }) };

  if (options.saveAdversarials) {
    const saved = assembleAdversarials(options.saveAdversarials, {
      model: options.modelPath,
      norm: tm.norm,
      eps: tm.eps,
      batches,
      exampleShape: options.data.x.shape.slice(1),
    });
    if (saved.missingBatches.length > 0) {
      notes.push(
        `--save-adversarials: batches ${saved.missingBatches.join(', ')} were evaluated before saving was asked for (resumed); their adversarial examples are not in ${saved.manifest}`,
      );
    }
  }
  const report = buildReport(ctx, ordered, nonDifferentiable, notes, version);
  if (options.out) files = { ...files, json: writeReportJson(options.out, report), html: writeReportHtml(options.out, report) };
  return { report, files, resumedBatches: resumed, stages: stages.map((s) => s.config.label), notes };
}

/** Per ε and stage label, the stage records of all batches (batch-local indices made global). */
interface StageTotals {
  readonly label: string;
  readonly role: StageRecord['role'];
  readonly oracle: StageRecord['oracle'];
  readonly iterative: boolean;
  readonly broken: Set<number>;
  readonly norms: number[];
  /** Queries per broken example, when the stage is query-based. */
  brokenQueries: number[] | undefined;
  attacked: number;
  queries: number;
  steps: number;
  seconds: number;
  zeroGradient: number;
  gradientMeasured: number;
  flatLoss: number;
  lossMeasured: number;
  maxNorm: number;
}

function buildReport(
  ctx: RunContext,
  records: readonly BatchRecord[],
  nonDifferentiable: { node: string; op_type: string }[],
  notes: readonly string[],
  version: string,
): Report {
  const { options, tm } = ctx;
  const n = options.data.labels.length;
  const correct = new Set<number>();
  for (const r of records) r.predictions.forEach((p, i) => p === options.data.labels[r.start + i] && correct.add(r.start + i));
  const iterativeLabels = new Set(ctx.stages.filter((s) => s.iterative).map((s) => s.config.label));

  const attacks: AttackRecord[] = [];
  const robustPoints: { eps: number; accuracy: number }[] = [];
  const evidence: EpsEvidence[] = [];
  const warnings = new Map<string, { code: string; message: string; batches: number }>();

  tm.eps.forEach((eps, k) => {
    const totals = new Map<string, StageTotals>();
    for (const r of records) {
      for (const s of r.eps[k]!.stages) {
        let t = totals.get(s.label);
        if (!t) {
          t = {
            label: s.label,
            role: s.role,
            oracle: s.oracle,
            iterative: iterativeLabels.has(s.label),
            broken: new Set(),
            norms: [],
            brokenQueries: undefined,
            attacked: 0,
            queries: 0,
            steps: 0,
            seconds: 0,
            zeroGradient: 0,
            gradientMeasured: 0,
            flatLoss: 0,
            lossMeasured: 0,
            maxNorm: 0,
          };
          totals.set(s.label, t);
        }
        for (const i of s.broken) t.broken.add(r.start + i);
        t.norms.push(...s.norms);
        if (s.brokenQueries) (t.brokenQueries ??= []).push(...s.brokenQueries);
        t.attacked += s.attacked;
        t.queries += s.queries;
        t.steps += s.steps;
        t.seconds += s.seconds;
        t.zeroGradient += s.zeroGradient;
        t.gradientMeasured += s.gradientMeasured;
        t.flatLoss += s.flatLoss;
        t.lossMeasured += s.lossMeasured;
        t.maxNorm = Math.max(t.maxNorm, s.maxNorm);
        for (const w of s.warnings) {
          const key = `${s.label}|${eps}|${w.code}`;
          const seen = warnings.get(key);
          if (seen) seen.batches++;
          else warnings.set(key, { code: w.code, message: `${s.label} at ε=${eps}: ${w.message}`, batches: 1 });
        }
      }
    }
    const broken = new Set<number>();
    const robustAfter = (labels: (t: StageTotals) => boolean): number => {
      const union = new Set<number>();
      for (const t of totals.values()) if (labels(t)) for (const i of t.broken) union.add(i);
      let robust = 0;
      for (const i of correct) if (!union.has(i)) robust++;
      return robust;
    };
    let whiteBoxSeen = false;
    let blackBoxOnly: number | undefined;
    for (const t of totals.values()) {
      // Ensemble stages: the cascade's accuracy after this stage. Check runs: their accuracy alone.
      let robust: number;
      if (t.role === 'ensemble') {
        for (const i of t.broken) broken.add(i);
        robust = 0;
        for (const i of correct) if (!broken.has(i)) robust++;
      } else {
        robust = robustAfter((u) => u === t);
      }
      const meanNorm = t.norms.length > 0 ? t.norms.reduce((a, b) => a + b, 0) / t.norms.length : null;
      const curve = t.brokenQueries ? { attacked: t.attacked, queries_to_success: [...t.brokenQueries].sort((a, b) => a - b) } : {};
      attacks.push({ name: t.label, eps, accuracy: robust / n, mean_norm: meanNorm, queries: t.queries, steps: t.steps, seconds: t.seconds, ...curve });
      if (t.role === 'ensemble' && t.oracle === 'gradient') whiteBoxSeen = true;
      if (t.role === 'ensemble' && (t.oracle === 'score' || t.oracle === 'decision') && whiteBoxSeen) blackBoxOnly = (blackBoxOnly ?? 0) + t.broken.size;
    }
    const robust = robustAfter(() => true);
    robustPoints.push({ eps, accuracy: robust / n });
    const all = [...totals.values()];
    const single = totals.get(SINGLE_STEP_LABEL);
    const noise = totals.get(NOISE_LABEL);
    evidence.push({
      eps,
      robust,
      ensembleRobust: robustAfter((t) => t.role === 'ensemble'),
      ...(all.some((t) => t.iterative) ? { iterativeRobust: robustAfter((t) => t.role === 'ensemble' && t.oracle === 'gradient') } : {}),
      ...(single ? { singleStepRobust: robustAfter((t) => t === single) } : {}),
      ...(noise ? { noiseRobust: robustAfter((t) => t === noise) } : {}),
      ...(ctx.checks && blackBoxOnly !== undefined ? { blackBoxOnly } : {}),
      loss: all.filter((t) => t.iterative).map((t) => ({ label: t.label, flat: t.flatLoss, measured: t.lossMeasured })),
      zeroGradient: all.reduce((s, t) => s + t.zeroGradient, 0),
      gradientMeasured: all.reduce((s, t) => s + t.gradientMeasured, 0),
      maxNorm: all.reduce((m, t) => t.norms.reduce((a, v) => Math.max(a, v), m), 0),
    });
  });

  let maskingChecksList: Report['masking_checks'] = [];
  if (ctx.checks) {
    const unboundedRecords = records.map((r) => r.unbounded).filter((u): u is NonNullable<typeof u> => u !== undefined);
    const checkEvidence: CheckEvidence = {
      n,
      norm: tm.norm,
      perEps: evidence,
      ...(unboundedRecords.length > 0
        ? {
            unbounded: {
              eps: unboundedRecords[0]!.eps,
              attacked: unboundedRecords.reduce((s, u) => s + u.attacked, 0),
              robust: unboundedRecords.reduce((s, u) => s + u.attacked - u.broken.length, 0),
            },
          }
        : {}),
      forwardDifference: Math.max(0, ...records.map((r) => r.forwardDifference)),
      nonDifferentiableOps: nonDifferentiable,
      bpda: (options.bpda ?? false) || (options.bpdaSurrogates?.length ?? 0) > 0,
    };
    maskingChecksList = maskingChecks(checkEvidence);
  }

  const reportWarnings = [...warnings.values()].map((w) => ({ code: w.code, message: w.batches > 1 ? `${w.message} (in ${w.batches} batches)` : w.message }));
  for (const note of notes) reportWarnings.push({ code: 'note', message: note });
  if (options.bpdaSurrogates?.length) {
    reportWarnings.push({
      code: 'bpda',
      message: `gradients at non-differentiable ops come from differentiable surrogates (BPDA, Athalye et al. 2018): ${options.bpdaSurrogates.join(', ')}${options.bpda ? '; other such ops pass gradients straight through' : ''}`,
    });
  } else if (options.bpda) {
    reportWarnings.push({ code: 'bpda', message: 'gradients pass straight through non-differentiable ops (BPDA with the identity, Athalye et al. 2018)' });
  }
  if ((options.eotSamples ?? 1) > 1) {
    reportWarnings.push({
      code: 'eot',
      message: `every gradient is the mean over ${options.eotSamples} passes of the model (EOT, Athalye et al. 2018); each pass counts as a query`,
    });
  }

  const model = options.model;
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    gibbon_version: version,
    created: new Date().toISOString(),
    model: {
      path: options.modelPath,
      sha256: model.ir.sha256 ?? '',
      input_shape: [...model.inputShape],
      num_classes: model.numClasses,
      outputs_probabilities: model.outputsProbabilities,
      non_differentiable_ops: nonDifferentiable,
    },
    threat_model: threatModelRecord(tm),
    data: options.data.source,
    n,
    seed: tm.seed,
    clean_accuracy: correct.size / n,
    robust_accuracy: robustPoints,
    attacks,
    masking_checks: maskingChecksList,
    gallery: records.flatMap((r) => r.gallery),
    warnings: reportWarnings,
    seconds: records.reduce((s, r) => s + r.seconds, 0),
    environment: {
      node: process.version,
      onnxruntime: onnxruntimeVersion(),
      platform: `${process.platform}-${process.arch}`,
      cpus: availableParallelism(),
      threads: options.threads ?? availableParallelism(),
    },
    bounds: [tm.input.bounds[0], tm.input.bounds[1]],
  };
}
