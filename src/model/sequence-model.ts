/**
 * SequenceOnnxModel: a CTC sequence recogniser (CRNN, PaddleOCR-style text recognisers, speech
 * models with a CTC head) from an ONNX file, run by onnxruntime. It decodes inputs greedily and
 * gives input gradients of the CTC loss (autodiff/ctc-head.ts), from a gradient graph built once
 * per loss and padded target length, and reused.
 *
 * The model has one float input (batch first) and outputs per-frame class scores (T, N, C) or
 * (N, T, C); logits, log-probabilities and probabilities (a final Softmax, looked through) all work.
 *
 * @example
 * ```ts
 * const model = await SequenceOnnxModel.load('crnn.onnx', { blank: 0, charset: '0123456789' });
 * const texts = await model.transcribe(x);
 * const { grad } = await model.lossAndGrad(x, ['0000'].map((t) => model.encode(t)), 'ctc-targeted');
 * ```
 */
import {
  buildCtcGradientGraph,
  CTC_TARGET_LENGTHS_INPUT,
  CTC_TARGETS_INPUT,
  sequenceFacts,
  type CtcGradientGraph,
  type CtcLossName,
  type SequenceFacts,
} from '../autodiff/ctc-gradient-graph.js';
import { ctcFramesNeeded, type SequenceLayout } from '../autodiff/ctc-head.js';
import type { NonDifferentiablePolicy } from '../autodiff/backprop.js';
import { LOGITS_OUTPUT, LOSS_OUTPUT } from '../autodiff/gradient-graph.js';
import { probeValues } from '../autodiff/probe.js';
import { GibbonError } from '../errors.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { loadModel, type ModelIR } from '../onnx/model.js';
import { GraphProgram, GraphPrograms, type Batch, type Feeds } from '../runtime/graph-program.js';
import { rowsFeed } from '../tensor/rows.js';
import type { AnyTensor, Tensor } from '../tensor/tensor.js';
import { checkExamples } from './check-examples.js';
import { Charset, ctcGreedyDecode } from './sequence-decode.js';

export interface SequenceModelOptions {
  /** Blank class (default 0, as in PyTorch's CTC and PaddleOCR). */
  blank?: number;
  /** 'TNC' or 'NTC'; found from the batch axis when omitted (needed for fixed-batch models). */
  layout?: SequenceLayout;
  /** Characters of the non-blank classes in class order; enables transcribe() and encode(). */
  charset?: string | readonly string[];
  /** Which output holds the per-frame scores (default: the first). */
  output?: string;
  /** Sizes for symbolic non-batch input dimensions (e.g. { image: [null, 1, 32, 256] }). */
  inputShapes?: Record<string, readonly (number | null)[]>;
  threads?: number;
  /** Largest batch per onnxruntime run (default 64). */
  batchSize?: number;
  nonDifferentiable?: NonDifferentiablePolicy;
}

export interface SequenceLossAndGrad {
  /** Per-example loss (N): +CTC for 'ctc', −CTC for 'ctc-targeted'. */
  readonly loss: Float32Array;
  /** Gradient of the summed loss, shaped like x. */
  readonly grad: Tensor;
  /** Per-frame scores (N, T, C). */
  readonly scores: Tensor;
}

/** Label sequences, one per example. */
export type LabelSequences = readonly (readonly number[])[];

export class SequenceOnnxModel {
  private readonly gradients: GraphPrograms<CtcGradientGraph>;
  /** Characters of the classes, when a charset was given. */
  readonly charset: Charset | undefined;

  private constructor(
    readonly ir: ModelIR,
    private readonly forward: GraphProgram,
    readonly facts: SequenceFacts,
    readonly blank: number,
    private readonly options: SequenceModelOptions,
  ) {
    this.charset = options.charset === undefined ? undefined : new Charset(options.charset, facts.classes, blank);
    this.gradients = new GraphPrograms(forward.options);
  }

  static async load(source: string | ModelIR, options: SequenceModelOptions = {}): Promise<SequenceOnnxModel> {
    const ir = typeof source === 'string' ? loadModel(source) : source;
    const canon = canonicalize(ir);
    const facts = sequenceFacts(canon, await probeValues(canon, { inputShapes: options.inputShapes }), options);
    const blank = options.blank ?? 0;
    if (!Number.isInteger(blank) || blank < 0 || blank >= facts.classes) {
      throw new GibbonError('invalid_option', `blank class ${blank} is not a class of this model (0…${facts.classes - 1})`, { option: 'blank' });
    }
    canon.graph.outputs = [{ name: facts.scores, dataType: 0, shape: null }];
    const declared = ir.graph.inputs.find((v) => v.name === facts.input)?.shape?.[0];
    const fixedBatch = typeof declared === 'number' && declared > 0 ? declared : undefined;
    const forward = await GraphProgram.compile(canon, { threads: options.threads, batchSize: options.batchSize ?? 64, fixedBatch, label: ir.path ?? 'model' });
    return new SequenceOnnxModel(ir, forward, facts, blank, options);
  }

  get frames(): number {
    return this.facts.frames;
  }

  /** Classes per frame, blank included. */
  get numClasses(): number {
    return this.facts.classes;
  }

  get layout(): SequenceLayout {
    return this.facts.layout;
  }

  /** Input shape, batch first; null for the batch (or another dynamic) dimension. */
  get inputShape(): readonly (number | null)[] {
    return this.facts.inputShape.map((d, i) => (i === 0 && this.fixedBatch === undefined ? null : d));
  }

  get fixedBatch(): number | undefined {
    return this.forward.fixedBatch;
  }

  checkInput(x: Tensor, what = 'input'): void {
    checkExamples(x, this.inputShape, what);
  }

  /** Per-frame scores as the model gives them, reordered to (N, T, C). */
  async scores(x: Tensor): Promise<Tensor> {
    this.checkInput(x);
    const n = x.shape[0]!;
    const out = new Float32Array(n * this.frames * this.numClasses);
    await this.forward.runBatches(n, (b) => ({ [this.facts.input]: rowsFeed(x, b.start, b.end, b.padded) }), {
      each: (r, b) => this.copyScores(r[this.facts.scores]!, out, b.start, b.end - b.start),
    });
    return { data: out, shape: [n, this.frames, this.numClasses] };
  }

  /** Copies k examples of a batch's scores (model layout) into out (N, T, C) from example `start`. */
  private copyScores(t: AnyTensor, out: Float32Array, start: number, k: number): void {
    const [T, C] = [this.frames, this.numClasses];
    const data = t.data as Float32Array;
    if (this.layout === 'NTC') {
      out.set(data.subarray(0, k * T * C), start * T * C);
      return;
    }
    const batch = t.shape[1]!;
    for (let i = 0; i < k; i++) {
      for (let f = 0; f < T; f++) out.set(data.subarray((f * batch + i) * C, (f * batch + i + 1) * C), ((start + i) * T + f) * C);
    }
  }

  /** Greedy CTC decoding: one class sequence per example. */
  async decode(x: Tensor): Promise<number[][]> {
    return this.decodeScores(await this.scores(x));
  }

  /** Decodes (N, T, C) scores. */
  decodeScores(scores: Tensor): number[][] {
    const row = this.frames * this.numClasses;
    return Array.from({ length: scores.shape[0]! }, (_, i) =>
      ctcGreedyDecode(scores.data.subarray(i * row, (i + 1) * row), this.frames, this.numClasses, this.blank),
    );
  }

  /** Decoded strings (needs a charset). */
  async transcribe(x: Tensor): Promise<string[]> {
    const charset = this.requireCharset();
    return (await this.decode(x)).map((s) => charset.decode(s));
  }

  /** The class sequence of a text (needs a charset). */
  encode(text: string, what = 'text'): number[] {
    return this.requireCharset().encode(text, what);
  }

  private requireCharset(): Charset {
    if (!this.charset) throw new GibbonError('invalid_option', "this needs the characters of the model's classes; pass charset", { option: 'charset' });
    return this.charset;
  }

  /** Checks target sequences: one per example, non-blank classes, each producible in T frames. */
  checkTargets(targets: LabelSequences, n: number, what = 'targets'): void {
    if (targets.length !== n)
      throw new GibbonError('invalid_input', `${what} has ${targets.length} sequences but the input has ${n} examples`, { option: what });
    targets.forEach((seq, i) => {
      for (const k of seq) {
        if (!Number.isInteger(k) || k < 0 || k >= this.numClasses || k === this.blank) {
          throw new GibbonError(
            'invalid_input',
            `${what}[${i}] contains ${k}, which is not a non-blank class of this model (0…${this.numClasses - 1}, blank ${this.blank})`,
            {
              option: what,
            },
          );
        }
      }
      const need = ctcFramesNeeded(seq);
      if (need > this.frames) {
        throw new GibbonError(
          'invalid_input',
          `${what}[${i}] (${seq.length} labels) needs ${need} frames but the model emits ${this.frames}; no input can produce it`,
          { option: what },
        );
      }
    });
  }

  private gradientProgram(loss: CtcLossName, maxTargetLength: number): GraphProgram<CtcGradientGraph> {
    return this.gradients.get(`${loss}|${maxTargetLength}`, `${this.ir.path ?? 'model'} (${loss} gradient)`, async () => {
      const graph = await buildCtcGradientGraph(this.ir, {
        loss,
        blank: this.blank,
        maxTargetLength,
        layout: this.layout,
        output: this.options.output,
        inputShapes: this.options.inputShapes,
        nonDifferentiable: this.options.nonDifferentiable,
      });
      return { model: graph.model, info: graph };
    });
  }

  /** The gradient graph for a loss (built on first use), e.g. to list non-differentiable ops. */
  async gradientGraphFor(loss: CtcLossName, maxTargetLength = 1): Promise<CtcGradientGraph> {
    return this.gradientProgram(loss, maxTargetLength).info();
  }

  /**
   * Per-example CTC loss for the given label sequences, and its input gradient. 'ctc' gives
   * +CTC (pass the clean transcriptions: ascending changes the string), 'ctc-targeted' gives −CTC
   * (pass the strings to force). Targets are padded to the longest one of the call.
   */
  async lossAndGrad(x: Tensor, targets: LabelSequences, loss: CtcLossName): Promise<SequenceLossAndGrad> {
    this.checkInput(x);
    const n = x.shape[0]!;
    this.checkTargets(targets, n);
    const S = Math.max(1, ...targets.map((t) => t.length));
    const program = this.gradientProgram(loss, S);
    const { gradOutput } = await program.info();
    const scores = new Float32Array(n * this.frames * this.numClasses);
    const feeds = ({ start, end, padded }: Batch): Feeds => {
      const labels = new BigInt64Array(padded * S);
      const lengths = new BigInt64Array(padded);
      // Padding rows (fixed-batch models) get an empty target; their loss is dropped.
      for (let i = start; i < end; i++) {
        const seq = targets[i]!;
        seq.forEach((k, j) => (labels[(i - start) * S + j] = BigInt(k)));
        lengths[i - start] = BigInt(seq.length);
      }
      return {
        [this.facts.input]: rowsFeed(x, start, end, padded),
        [CTC_TARGETS_INPUT]: { type: 'int64', data: labels, shape: [padded, S] },
        [CTC_TARGET_LENGTHS_INPUT]: { type: 'int64', data: lengths, shape: [padded] },
      };
    };
    const r = await program.runBatches(n, feeds, {
      gather: [LOSS_OUTPUT, gradOutput],
      fetches: [LOSS_OUTPUT, LOGITS_OUTPUT, gradOutput],
      each: (out, b) => this.copyScores(out[LOGITS_OUTPUT]!, scores, b.start, b.end - b.start),
    });
    return { loss: r[LOSS_OUTPUT]!, grad: { data: r[gradOutput]!, shape: [...x.shape] }, scores: { data: scores, shape: [n, this.frames, this.numClasses] } };
  }

  async dispose(): Promise<void> {
    await this.forward.dispose();
    await this.gradients.dispose();
  }
}
