/**
 * The contract between the detector-equipped model (detector.ts) and the detectors: the fitted
 * parameters of each kind (plain data, stored in detector.json), what a score fragment may use
 * while it is appended to the classifier's graph (`ScoreContext`), and a detector as data
 * (`DetectorScore`: its kind and the function that emits its score). Detector files import only
 * this module; index.ts lists them, and detector.ts builds the graph from that list.
 */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { Graph } from '../../onnx/graph.js';

export const DETECTOR_KINDS = ['msp', 'energy', 'mahalanobis', 'squeeze', 'combined'] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

export interface MspParams {
  readonly kind: 'msp';
}

export interface EnergyParams {
  readonly kind: 'energy';
  /** Temperature T of s = −T·logsumexp(z/T) (Liu et al. 2020 use 1). */
  readonly temperature: number;
}

export interface MahalanobisParams {
  readonly kind: 'mahalanobis';
  /** The graph value whose activations are the features (flattened per example). */
  readonly features: string;
  /** Class means, C rows of D features. */
  readonly means: readonly (readonly number[])[];
  /** Inverse of the shared (tied) covariance, D × D, symmetric positive definite. */
  readonly precision: readonly (readonly number[])[];
  /** Ridge added to the covariance before inverting, as a fraction of its mean variance. */
  readonly shrinkage: number;
}

export interface SqueezeParams {
  readonly kind: 'squeeze';
  /** Squeezer specs: 'bit-depth:B' or 'median:K'. */
  readonly squeezers: readonly string[];
}

export type SingleDetectorParams = MspParams | EnergyParams | MahalanobisParams | SqueezeParams;

export interface CombinedPart {
  readonly detector: SingleDetectorParams;
  /** Mean and standard deviation of this part's score on clean calibration data. */
  readonly mean: number;
  readonly std: number;
}

export interface CombinedParams {
  readonly kind: 'combined';
  /** s = max over parts of (s_k − mean_k) / std_k. */
  readonly parts: readonly CombinedPart[];
}

export type DetectorParams = SingleDetectorParams | CombinedParams;

/** What a score fragment may use: the builder, the classifier's values, and copies of it. */
export interface ScoreContext {
  readonly b: GraphBuilder;
  readonly graph: Graph;
  /** The classifier's input value and its shape (batch first, null where dynamic). */
  readonly input: string;
  readonly inputShape: readonly (number | null)[];
  /** The class scores before any Softmax (N, C). */
  readonly logits: string;
  readonly numClasses: number;
  /** Where the model came from, for error messages. */
  readonly where: string;
  readonly path: string | undefined;
  /** The logits of the classifier applied to another input value of the same shape (a copy of its nodes). */
  classifierOn(x: string, hint: string): string;
}

/** A single detector as data: its kind and the fragment that computes its score (N) from fitted parameters. */
export interface DetectorScore<P extends SingleDetectorParams = SingleDetectorParams> {
  readonly kind: P['kind'];
  /** Emits the score into `ctx.b`'s graph; returns the score's value name. */
  emitScore(ctx: ScoreContext, params: P): string;
}
