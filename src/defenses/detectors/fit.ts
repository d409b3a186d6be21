/**
 * Fitting and calibrating a detector on clean data of the classifier's training distribution:
 * - the fit set (clean training examples with labels) gives the Mahalanobis class means and
 *   covariance;
 * - the calibration set (a seeded held-out slice of the training split, never test data) gives
 *   the standardisation of the combined detector's parts and the threshold τ: the smallest value
 *   such that at most the target fraction of clean calibration scores is above it.
 */
import { GibbonError } from '../../errors.js';
import type { ModelIR } from '../../onnx/model.js';
import type { Tensor } from '../../tensor/tensor.js';
import { rates, thresholdAtFpr } from '../roc.js';
import { prepareClassifier, type DetectorKind, type DetectorParams, type SingleDetectorParams } from './detector.js';
import { modelFingerprint, DETECTOR_FORMAT, DETECTOR_FORMAT_VERSION, type DetectorFile } from './detector-file.js';
import { DEFAULT_TEMPERATURE } from './energy.js';
import { EquippedModel } from './equipped-model.js';
import { DEFAULT_SQUEEZERS, parseSqueezers } from './feature-squeezing.js';
import { chooseFeatures } from './features.js';
import { DEFAULT_SHRINKAGE, fitMahalanobis } from './mahalanobis.js';

export type SingleDetectorKind = Exclude<DetectorKind, 'combined'>;

/** The parts of the combined detector (default). */
export const DEFAULT_COMBINED_PARTS: readonly SingleDetectorKind[] = Object.freeze(['energy', 'mahalanobis', 'squeeze']);
export const DEFAULT_TARGET_FPR = 0.05;

export interface FitOptions {
  /** Detector: 'msp', 'energy', 'mahalanobis', 'squeeze' or 'combined'. Required. */
  readonly kind: DetectorKind;
  /** Feature node or value for Mahalanobis (default: found automatically). */
  readonly features?: string;
  /** Feature squeezing's squeezers (preprocess specs). Default ['bit-depth:1', 'median:2'] (Xu et al. 2018, MNIST). */
  readonly squeezers?: readonly string[];
  /** Energy score temperature T (Liu et al. 2020). Default 1. */
  readonly temperature?: number;
  /** Mahalanobis: the ridge added to the shared covariance before inverting it, as a fraction of its mean diagonal. Default 0.01. */
  readonly shrinkage?: number;
  /** The combined detector's parts. Default ['energy', 'mahalanobis', 'squeeze']. */
  readonly parts?: readonly SingleDetectorKind[];
  /** Target false-positive rate on clean calibration data (default 0.05). */
  readonly targetFpr?: number;
  /** onnxruntime threads. Default: the number of cores. */
  readonly threads?: number;
  /** Examples per onnxruntime run. Default 128. */
  readonly batchSize?: number;
  /** Called when a stage starts (for progress display). */
  readonly onStage?: (stage: string) => void;
}

export interface FitData {
  /** Clean labelled training examples (for Mahalanobis). */
  readonly fit: { readonly x: Tensor; readonly y: Int32Array };
  /** Clean held-out examples for standardisation and the threshold. */
  readonly calibration: { readonly x: Tensor };
  /** Where the data came from, e.g. 'mnist:train (…)'. */
  readonly description: string;
  readonly seed: number;
}

function meanStd(xs: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const v of xs) s += v;
  const mean = s / xs.length;
  let q = 0;
  for (const v of xs) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / Math.max(1, xs.length - 1)) };
}

async function scoresOf(model: ModelIR, params: DetectorParams, x: Tensor, options: FitOptions): Promise<Float32Array> {
  const equipped = await EquippedModel.create(model, params, { threads: options.threads, batchSize: options.batchSize });
  try {
    return (await equipped.run(x)).score;
  } finally {
    await equipped.dispose();
  }
}

export async function fitDetector(model: ModelIR, data: FitData, options: FitOptions, gibbonVersion: string): Promise<DetectorFile> {
  const targetFpr = options.targetFpr ?? DEFAULT_TARGET_FPR;
  if (!(targetFpr >= 0 && targetFpr < 1))
    throw new GibbonError('invalid_option', `the target false-positive rate must be in [0, 1); got ${targetFpr}`, { option: 'targetFpr' });
  const where = model.path ?? 'model';
  const { ctx } = prepareClassifier(model);
  const needsFeatures = options.kind === 'mahalanobis' || (options.kind === 'combined' && (options.parts ?? DEFAULT_COMBINED_PARTS).includes('mahalanobis'));
  const featureChoice = needsFeatures ? chooseFeatures(ctx.graph, ctx.logits, options.features, where, model.path) : undefined;
  if (!needsFeatures && options.features !== undefined) {
    throw new GibbonError('invalid_option', `features is used by the mahalanobis and combined detectors, not '${options.kind}'`, { option: 'features' });
  }
  const squeezers = options.squeezers ?? DEFAULT_SQUEEZERS;
  parseSqueezers(squeezers);

  let mahalanobis: SingleDetectorParams | undefined;
  const single = async (kind: SingleDetectorKind): Promise<SingleDetectorParams> => {
    switch (kind) {
      case 'msp':
        return { kind: 'msp' };
      case 'energy':
        return { kind: 'energy', temperature: options.temperature ?? DEFAULT_TEMPERATURE };
      case 'squeeze':
        return { kind: 'squeeze', squeezers: [...squeezers] };
      case 'mahalanobis': {
        if (mahalanobis) return mahalanobis;
        options.onStage?.(`features of ${data.fit.y.length} training examples`);
        const featureModel = await EquippedModel.create(model, undefined, {
          threads: options.threads,
          batchSize: options.batchSize,
          extraOutputs: [featureChoice!.value],
        });
        let features: Float32Array;
        try {
          features = (await featureModel.run(data.fit.x)).extra.get(featureChoice!.value)!;
        } finally {
          await featureModel.dispose();
        }
        return (mahalanobis = fitMahalanobis(features, data.fit.y, ctx.numClasses, featureChoice!.value, options.shrinkage ?? DEFAULT_SHRINKAGE));
      }
    }
  };

  let params: DetectorParams;
  if (options.kind === 'combined') {
    const kinds = options.parts ?? DEFAULT_COMBINED_PARTS;
    if (kinds.length === 0) throw new GibbonError('invalid_option', 'the combined detector needs at least one part', { option: 'parts' });
    const parts = [];
    for (const kind of kinds) {
      const detector = await single(kind);
      options.onStage?.(`standardising ${kind} on ${data.calibration.x.shape[0]} calibration examples`);
      const { mean, std } = meanStd(await scoresOf(model, detector, data.calibration.x, options));
      parts.push({ detector, mean, std: std > 0 ? std : 1 });
    }
    params = { kind: 'combined', parts };
  } else params = await single(options.kind);

  options.onStage?.(`calibrating the threshold on ${data.calibration.x.shape[0]} held-out examples`);
  const scores = await scoresOf(model, params, data.calibration.x, options);
  const threshold = thresholdAtFpr(scores, targetFpr);
  const { mean, std } = meanStd(scores);
  return {
    format: DETECTOR_FORMAT,
    version: DETECTOR_FORMAT_VERSION,
    gibbon_version: gibbonVersion,
    model: { path: model.path ?? '(in memory)', sha256: modelFingerprint(model), input: ctx.input, num_classes: ctx.numClasses },
    detector: params,
    features_choice: featureChoice?.how,
    threshold,
    target_fpr: targetFpr,
    calibration: {
      data: data.description,
      seed: data.seed,
      fit_examples: needsFeatures ? data.fit.y.length : 0,
      calibration_examples: scores.length,
      fpr: rates([], scores, threshold).fpr,
      score_mean: mean,
      score_std: std,
    },
  };
}
