/**
 * The messages between the playground page and its Web Worker (worker.ts). Tensors travel as
 * plain `{ data, shape }` with their buffers transferred; reports as the schema's objects.
 */
import type { Report } from '../report/index.js';
import type { Tensor } from '../tensor/tensor.js';

/** What the page asks of an evaluation: the form's fields, and the examples already decoded. */
export interface EvaluationRequest {
  readonly x: Tensor;
  readonly labels: Int32Array;
  /** Where the examples came from (a file name, or the bundled samples), for the report. */
  readonly source: string;
  readonly bounds: readonly [number, number];
  readonly norm: 'linf' | 'l2';
  readonly eps: readonly number[];
  /** Registry names, run as a cascade (e.g. ['pgd']). */
  readonly attacks: readonly string[];
  readonly n: number;
  readonly seed: number;
  /** Run the gradient-masking checks' reference runs (the CLI's default). */
  readonly checks: boolean;
}

export type PageMessage =
  | { readonly type: 'load-model'; readonly bytes: ArrayBuffer; readonly name: string }
  | { readonly type: 'evaluate'; readonly request: EvaluationRequest }
  /** Test and measurement hooks: a loss's input gradient, and input-gradient throughput. */
  | { readonly type: 'input-grad'; readonly x: Tensor; readonly labels: Int32Array; readonly loss: 'ce' | 'margin' | 'dlr' }
  | { readonly type: 'benchmark'; readonly batch: number; readonly runs: number };

export interface ModelInfo {
  readonly name: string;
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  readonly outputsProbabilities: boolean;
  readonly sha256: string;
}

export interface RuntimeInfo {
  /** onnxruntime-web's wasm threads: more than 1 only when the page is cross-origin isolated. */
  readonly threads: number;
  readonly crossOriginIsolated: boolean;
  readonly onnxruntime: string;
}

export interface EvaluationOutcome {
  /** The report with every adversarial example found (the page's gallery and .npy downloads). */
  readonly report: Report;
  /** report.json and report.html as the CLI writes them (gallery of 3 per ε, the CLI's default). */
  readonly reportJson: string;
  readonly reportHtml: string;
  /** Robust accuracy versus ε, the report's chart (SVG). */
  readonly chartSvg: string;
  readonly seconds: number;
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly runtime: RuntimeInfo }
  | { readonly type: 'model'; readonly info: ModelInfo }
  | {
      readonly type: 'progress';
      readonly done: number;
      readonly total: number;
      readonly eps?: number;
      readonly stage?: string;
      readonly step?: number;
      readonly steps?: number;
    }
  | { readonly type: 'result'; readonly outcome: EvaluationOutcome }
  | { readonly type: 'grad'; readonly grad: Tensor; readonly loss: Float32Array; readonly logits: Tensor }
  | { readonly type: 'benchmark'; readonly imagesPerSecond: number; readonly batch: number; readonly runs: number }
  | { readonly type: 'error'; readonly message: string; readonly during: PageMessage['type'] };
