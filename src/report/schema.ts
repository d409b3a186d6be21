/**
 * The report.json schema, version 1: the contract between evaluation/ (which produces it) and
 * report/ (which renders it), and what users' tooling reads. Field names are snake_case because
 * this is a file format. Bump REPORT_SCHEMA_VERSION on any incompatible change and document it
 * in docs/report-schema.md.
 */
export const REPORT_SCHEMA_VERSION = 1;

export interface ReportModel {
  /** Path as given by the user. */
  path: string;
  sha256: string;
  input_shape: (number | null)[];
  num_classes: number;
  /** True when the model ends in Softmax (gradients then use the logits feeding it). */
  outputs_probabilities: boolean;
  /** Non-differentiable ops found on the gradient path (names and op types). */
  non_differentiable_ops: { node: string; op_type: string }[];
}

export interface RobustAccuracyPoint {
  eps: number;
  /** Worst case over all attacks, per example. */
  accuracy: number;
}

export interface AttackRecord {
  name: string;
  eps: number;
  /**
   * Robust accuracy on all n examples. For a stage of a cascaded ensemble (auto, fast, a list) it is
   * the accuracy AFTER that stage (cumulative: earlier stages included); for the masking checks
   * reference runs (names ending in "(check)": FGSM, random noise) it is that run alone.
   */
  accuracy: number;
  /** Mean perturbation norm (threat model's norm) over successful adversarial examples; null if none. */
  mean_norm: number | null;
  /** Model queries (examples × forward/gradient evaluations) spent. */
  queries: number;
  /** Gradient steps (or iterations) spent. */
  steps: number;
  seconds: number;
  /**
   * Optional (query-based black-box attacks): examples the attack was given, and the queries each
   * example it broke took, ascending. Success rate within q queries = (number ≤ q) / attacked.
   */
  attacked?: number;
  queries_to_success?: number[];
}

export interface MaskingCheck {
  /** Stable id, e.g. 'iterative-weaker-than-single-step'. */
  name: string;
  passed: boolean;
  /** What was measured (numbers). */
  detail: string;
  /** What to try when it failed (more steps, BPDA, EOT …); absent when passed. */
  advice?: string;
}

/** One clean / adversarial pair for the report's image grid. */
export interface GalleryItem {
  index: number;
  eps: number;
  attack: string;
  label: number;
  clean_prediction: number;
  clean_confidence: number;
  adversarial_prediction: number;
  adversarial_confidence: number;
  /** Image shape (C, H, W) and pixels in [bounds], row-major, as plain arrays (small: a few images). */
  shape: number[];
  clean: number[];
  adversarial: number[];
}

export interface Report {
  schema_version: typeof REPORT_SCHEMA_VERSION;
  gibbon_version: string;
  /** ISO 8601 time the evaluation finished. */
  created: string;
  model: ReportModel;
  /** The validated threat model as evaluated (after presets and defaults are applied). */
  threat_model: Record<string, unknown>;
  /** Data source, e.g. 'mnist-test' or the .npy path. */
  data: string;
  n: number;
  seed: number;
  clean_accuracy: number;
  robust_accuracy: RobustAccuracyPoint[];
  attacks: AttackRecord[];
  masking_checks: MaskingCheck[];
  gallery: GalleryItem[];
  warnings: { code: string; message: string }[];
  seconds: number;
  environment: { node: string; onnxruntime: string; platform: string; cpus: number; threads: number };
  /**
   * Optional (added for report/): the input domain the gallery's pixels lie in, [min, max];
   * absent means [0, 1]. The HTML report maps this range to black..white.
   */
  bounds?: [number, number];
  /**
   * Optional (added for report/): a name per class index (e.g. 'giant panda', 'gibbon'); absent
   * means classes are shown by index. Must have model.num_classes entries when present.
   */
  class_names?: string[];
}
