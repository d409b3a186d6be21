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
import { loadModel, serializeModel, type ModelIR } from '../onnx/model.js';
import { defaultThreads, Session } from '../runtime/session.js';
import { forEachBatch, rowsFeed } from '../tensor/rows.js';
import { size, type AnyTensor, type Tensor } from '../tensor/tensor.js';
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
  private readonly graphs = new Map<string, Promise<{ graph: CtcGradientGraph; session: Session }>>();
  private disposed = false;
  /** Characters of the classes, when a charset was given. */
  readonly charset: Charset | undefined;

  private constructor(
    readonly ir: ModelIR,
    private readonly forward: Session,
    readonly facts: SequenceFacts,
    readonly blank: number,
    private readonly options: SequenceModelOptions,
  ) {
    this.charset = options.charset === undefined ? undefined : new Charset(options.charset, facts.classes, blank);
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
    const forward = await Session.create(serializeModel(canon), { threads: options.threads ?? defaultThreads(), label: ir.path ?? 'model' });
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
    const d = this.ir.graph.inputs.find((v) => v.name === this.facts.input)?.shape?.[0];
    return typeof d === 'number' && d > 0 ? d : undefined;
  }

  private get batchSize(): number {
    return this.fixedBatch ?? this.options.batchSize ?? 64;
  }

  checkInput(x: Tensor, what = 'input'): void {
    checkExamples(x, this.inputShape, what);
  }

  /** Per-frame scores as the model gives them, reordered to (N, T, C). */
  async scores(x: Tensor): Promise<Tensor> {
    this.checkInput(x);
    const n = x.shape[0]!;
    const out = new Float32Array(n * this.frames * this.numClasses);
    await forEachBatch(n, this.batchSize, this.fixedBatch, async (start, end, padded) => {
      const r = await this.forward.run({ [this.facts.input]: rowsFeed(x, start, end, padded) });
      this.copyScores(r[this.facts.scores]!, out, start, end - start);
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

  private gradientGraph(loss: CtcLossName, maxTargetLength: number): Promise<{ graph: CtcGradientGraph; session: Session }> {
    const key = `${loss}|${maxTargetLength}`;
    let entry = this.graphs.get(key);
    if (!entry) {
      entry = (async () => {
        const graph = await buildCtcGradientGraph(this.ir, {
          loss,
          blank: this.blank,
          maxTargetLength,
          layout: this.layout,
          output: this.options.output,
          inputShapes: this.options.inputShapes,
          nonDifferentiable: this.options.nonDifferentiable,
        });
        const session = await Session.create(serializeModel(graph.model), {
          threads: this.options.threads ?? defaultThreads(),
          label: `${this.ir.path ?? 'model'} (${loss} gradient)`,
        });
        return { graph, session };
      })();
      this.graphs.set(key, entry);
      entry.catch(() => this.graphs.delete(key));
    }
    return entry;
  }

  /** The gradient graph for a loss (built on first use), e.g. to list non-differentiable ops. */
  async gradientGraphFor(loss: CtcLossName, maxTargetLength = 1): Promise<CtcGradientGraph> {
    return (await this.gradientGraph(loss, maxTargetLength)).graph;
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
    const { graph, session } = await this.gradientGraph(loss, S);
    const lossOut = new Float32Array(n);
    const grad = new Float32Array(x.data.length);
    const scores = new Float32Array(n * this.frames * this.numClasses);
    const row = size(x.shape.slice(1));
    await forEachBatch(n, this.batchSize, this.fixedBatch, async (start, end, padded) => {
      const labels = new BigInt64Array(padded * S);
      const lengths = new BigInt64Array(padded);
      // Padding rows (fixed-batch models) get an empty target; their loss is dropped.
      for (let i = start; i < end; i++) {
        const seq = targets[i]!;
        seq.forEach((k, j) => (labels[(i - start) * S + j] = BigInt(k)));
        lengths[i - start] = BigInt(seq.length);
      }
      const r = await session.run(
        {
          [this.facts.input]: rowsFeed(x, start, end, padded),
          [CTC_TARGETS_INPUT]: { type: 'int64', data: labels, shape: [padded, S] },
          [CTC_TARGET_LENGTHS_INPUT]: { type: 'int64', data: lengths, shape: [padded] },
        },
        [LOSS_OUTPUT, LOGITS_OUTPUT, graph.gradOutput],
      );
      const k = end - start;
      lossOut.set((r[LOSS_OUTPUT]!.data as Float32Array).subarray(0, k), start);
      grad.set((r[graph.gradOutput]!.data as Float32Array).subarray(0, k * row), start * row);
      this.copyScores(r[LOGITS_OUTPUT]!, scores, start, k);
    });
    return { loss: lossOut, grad: { data: grad, shape: [...x.shape] }, scores: { data: scores, shape: [n, this.frames, this.numClasses] } };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.forward.dispose();
    for (const entry of this.graphs.values()) {
      try {
        await (await entry).session.dispose();
      } catch {
        // a graph that failed to build has no session to free
      }
    }
  }
}
