/**
 * What an evaluation is given (`EvaluationOptions`), what it returns, and what every batch
 * computation shares for the whole run (`RunContext`): the runner, the reference runs and the
 * gallery work on it.
 */
import type { LossName } from '../autodiff/loss-heads.js';
import { GibbonError } from '../errors.js';
import { misclassification } from '../criteria/misclassification.js';
import { targetedMisclassification } from '../criteria/targeted-misclassification.js';
import type { Criterion } from '../criteria/criterion.js';
import type { Bounds } from '../model/bounds.js';
import { eotOracle } from '../model/eot.js';
import { gradientOracle, type ClassifierModel, type DifferentiableModel, type GradientOracle } from '../model/oracles.js';
import type { Norm } from '../norms/norm.js';
import type { Report } from '../report/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { EvaluationData } from './data.js';
import type { Ensemble } from './presets.js';
import type { PlannedStage } from './plan.js';
import type { ThreatModel } from './threat-model.js';

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

/** Everything a batch computation needs, fixed for the whole run. */
export interface RunContext {
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

/** One batch of the data, with its target classes under a targeted threat model. */
export interface BatchInputs {
  readonly index: number;
  readonly x: Tensor;
  readonly labels: Int32Array;
  readonly targets: Int32Array | undefined;
}

/** The evaluated model's gradients; evaluate() has refused white-box knowledge without them. */
export function whiteOf(options: EvaluationOptions): EvaluationModel {
  if (!options.white) throw new GibbonError('internal', 'a white-box stage ran without the model’s gradients');
  return options.white;
}

/** A gradient oracle of `model`, averaged over `eotSamples` passes when EOT is on. */
export function gradientOracleOf(ctx: RunContext, model: DifferentiableModel): GradientOracle {
  return eotOracle(gradientOracle(model, { bounds: ctx.bounds }), ctx.options.eotSamples ?? 1);
}

/** Misclassification, or reaching the target class under a targeted threat model. */
export function criterionFor(labels: Int32Array, targets: Int32Array | undefined, numClasses: number): Criterion {
  return targets ? targetedMisclassification(labels, targets, numClasses) : misclassification(labels, numClasses);
}

export function progressBase(ctx: RunContext, batch: number): EvaluationProgress {
  return { batch, batches: ctx.batches, done: ctx.done, total: ctx.total, resumed: ctx.resumed };
}

/** Counts one unit of work done and reports progress. */
export function unitDone(ctx: RunContext, batch: number, eps?: number, stage?: string): void {
  ctx.done++;
  ctx.options.onProgress?.({ ...progressBase(ctx, batch), eps, stage });
}
