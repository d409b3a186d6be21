/**
 * OnnxModel: a classifier from an ONNX file, run by onnxruntime, with exact gradients from a
 * gradient graph built once per loss and reused. Inputs of any batch size are split into batches
 * (padded when the model has a fixed batch dimension). Call dispose() to free the sessions.
 */
import { GibbonError } from '../errors.js';
import {
  attachClassScores,
  buildGradientGraph,
  dataInputName,
  trainableInitializers,
  type ClassScores,
  type OutputReduction,
  gradOutputName,
  LABELS_INPUT,
  LOGITS_OUTPUT,
  LOSS_OUTPUT,
  REFERENCE_INPUT,
  TARGETS_INPUT,
  type GradientGraph,
} from '../autodiff/gradient-graph.js';
import { EMBEDDING_LOSS, isTargetedLoss, type EmbeddingLoss, type LossName } from '../autodiff/loss-heads.js';
import type { NonDifferentiablePolicy } from '../autodiff/backprop.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { loadModel, serializeModel, type ModelIR } from '../onnx/model.js';
import { Session, defaultThreads } from '../runtime/session.js';
import { concreteInputShape } from '../autodiff/probe.js';
import { forEachBatch, labelsFeed, rowsFeed } from '../tensor/rows.js';
import { checkExamples } from './check-examples.js';
import { bindInputs, prependNormalization, unboundInputs, type InputValue, type Normalization } from './model-inputs.js';
import { argmaxRows, size, type AnyTensor, type Tensor } from '../tensor/tensor.js';

export interface OnnxModelOptions {
  /** onnxruntime intra-op threads (default: number of cores). */
  threads?: number;
  /** Largest batch per onnxruntime run (default 256). */
  batchSize?: number;
  /** Sizes for symbolic non-batch input dimensions. */
  inputShapes?: Record<string, readonly (number | null)[]>;
  /** One example's shape (no batch) of the attacked input: sizes for its symbolic dimensions. */
  exampleShape?: readonly number[];
  /** Where exampleShape comes from, for the error when it does not fit the declared shape (e.g. an .npy and its option). */
  exampleSource?: { readonly path: string; readonly shape: readonly number[]; readonly option: string };
  /** Policy at Round/Sign/… in gradients: 'zero' (true gradient) or 'identity' (BPDA straight-through). */
  nonDifferentiable?: NonDifferentiablePolicy;
  /** The input attacked and differentiated (default: the first float input). */
  input?: string;
  /** Fixed values for the model's other inputs (recurrent state, sample rate …). */
  feeds?: Readonly<Record<string, InputValue>>;
  /** The output holding the class scores (default: the first). */
  output?: string;
  /** How to read class scores from an output of rank ≥ 3: mean or max over the other axes, or flatten. */
  outputReduce?: OutputReduction;
  /** Per-channel (x − mean) / std applied before the model; the model then takes raw inputs. */
  normalization?: Normalization;
}

export interface LossAndGrad {
  /** Per-example loss (N). */
  readonly loss: Float32Array;
  /** d(Σ loss)/dx, shaped like x. */
  readonly grad: Tensor;
  readonly logits: Tensor;
}

export interface ParamGrads {
  readonly loss: Float32Array;
  /** Gradient per initializer name of the SUM (or mean) of the loss over the batch. */
  readonly grads: Map<string, Tensor>;
  readonly logits: Tensor;
}

type Labels = Int32Array | BigInt64Array | readonly number[];

export class OnnxModel {
  private readonly gradGraphs = new Map<string, Promise<{ graph: GradientGraph; session: Session }>>();
  private disposed = false;

  private constructor(
    readonly ir: ModelIR,
    private readonly forward: Session,
    readonly inputName: string,
    /** Input shape; null marks the batch (or another dynamic) dimension. */
    readonly inputShape: readonly (number | null)[],
    readonly numClasses: number,
    /** True when the model's output is a Softmax or Sigmoid (probabilities); gradients then use its input. */
    readonly outputsProbabilities: boolean,
    private readonly logitsName: string,
    private readonly options: OnnxModelOptions,
    /** How the class scores are read from the model's output. */
    readonly classScores: ClassScores,
    /** The initializers that are parameters (not values bound with feeds or added by gibbon). */
    readonly trainableParams: readonly string[],
  ) {}

  static async load(source: string | ModelIR, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    const original = typeof source === 'string' ? loadModel(source) : source;
    const path = original.path ?? 'model';
    const inputName = dataInputName(original.graph, options.input);
    let ir = options.feeds && Object.keys(options.feeds).length > 0 ? bindInputs(original, options.feeds, inputName) : original;
    const declared = original.graph.inputs.find((v) => v.name === inputName)?.shape;
    if (options.exampleShape && declared) {
      // The data's shape is checked against the declared one before anything of the declared size is allocated.
      const own = declared.slice(1);
      const clash = own.length !== options.exampleShape.length || own.some((d, i) => typeof d === 'number' && d > 0 && d !== options.exampleShape![i]);
      if (clash) {
        const src = options.exampleSource;
        const expected = `[N, ${own.map((d) => d ?? '?').join(', ')}]`;
        throw new GibbonError(
          'invalid_input',
          src
            ? `${src.path} has shape [${src.shape.join(', ')}] but model input '${inputName}' is ${expected}`
            : `examples of shape [${options.exampleShape.join(', ')}] do not fit input '${inputName}' of ${path}, which is ${expected}`,
          src ? { path: src.path, option: src.option } : { path: original.path, option: 'exampleShape' },
        );
      }
    }
    if (options.exampleShape && (!declared || declared.length === options.exampleShape.length + 1)) {
      // Declared sizes win: a mismatch with the data is reported when the data is checked.
      const dims = options.exampleShape.map((d, i) => {
        const own = declared?.[i + 1];
        return typeof own === 'number' && own > 0 ? own : d;
      });
      options = { ...options, inputShapes: { ...options.inputShapes, [inputName]: [null, ...dims] } };
    }
    const unbound = unboundInputs(ir, inputName);
    if (unbound.length > 0) {
      throw new GibbonError(
        'invalid_model',
        `${path} has inputs ${unbound.map((n) => `'${n}'`).join(', ')} besides '${inputName}'; give each a value (--feed ${unbound[0]}=FILE.npy or a number), or choose the attacked input with --wrt-input`,
        { path: original.path, option: 'feed' },
      );
    }
    if (options.normalization) ir = prependNormalization(ir, inputName, options.normalization);
    const canon = canonicalize(ir);
    const g = canon.graph;
    const input = g.inputs.find((v) => v.name === inputName)!;
    const head = await attachClassScores(canon, { output: options.output, reduce: options.outputReduce, inputShapes: options.inputShapes });
    g.outputs = [{ name: head.scores, dataType: 0, shape: null }];
    const forward = await Session.create(serializeModel(canon), { threads: options.threads ?? defaultThreads(), label: path });
    const given = options.inputShapes?.[input.name];
    const shape = (input.shape ?? given ?? []).map((d, i) => (typeof given?.[i] === 'number' ? given[i]! : typeof d === 'number' && d > 0 ? d : null));
    // One small run checks the model runs at all (when every size is known; sizes checked before allocating).
    if (shape.slice(1).every((d) => d !== null)) {
      const probeShape = concreteInputShape(input.name, shape, undefined, 1);
      try {
        const out = await forward.run({ [input.name]: { type: 'float32', data: new Float32Array(size(probeShape)), shape: probeShape } });
        const z = out[head.scores]!;
        if (z.shape.length !== 2 || z.shape[1] !== head.numClasses) {
          throw new GibbonError(
            'invalid_model',
            `class scores of output '${head.output}' have shape [${z.shape.join(', ')}]; expected (batch, ${head.numClasses})`,
            { path: original.path },
          );
        }
      } catch (e) {
        await forward.dispose();
        throw e;
      }
    }
    const trainable = new Set(trainableInitializers(original));
    return new OnnxModel(
      ir,
      forward,
      input.name,
      shape,
      head.numClasses,
      head.source !== 'output',
      head.scores,
      { ...options, input: inputName },
      head,
      [...trainableInitializers(ir)].filter((n) => trainable.has(n)),
    );
  }

  /** The fixed batch size, if the model has one. */
  get fixedBatch(): number | undefined {
    const b = this.inputShape[0];
    return typeof b === 'number' ? b : undefined;
  }

  private get batchSize(): number {
    return this.fixedBatch ?? this.options.batchSize ?? 256;
  }

  /** Checks that x fits the model input; names expected and found shapes. */
  checkInput(x: Tensor, what = 'input'): void {
    checkExamples(x, this.inputShape, what);
  }

  checkLabels(labels: Labels, n: number, what = 'labels'): void {
    if (labels.length !== n) throw new GibbonError('invalid_input', `${what} has ${labels.length} entries but the input has ${n} examples`, { option: what });
    for (let i = 0; i < labels.length; i++) {
      const v = Number(labels[i]);
      if (!Number.isInteger(v) || v < 0 || v >= this.numClasses) {
        throw new GibbonError('invalid_input', `${what}[${i}] = ${v} is not a class of this model (0…${this.numClasses - 1})`, { option: what });
      }
    }
  }

  /** Calls fn on each batch [start, end), padding the last batch for fixed-batch models. */
  private eachBatch(n: number, fn: (start: number, end: number, padded: number) => Promise<void>): Promise<void> {
    return forEachBatch(n, this.batchSize, this.fixedBatch, fn);
  }

  /** Class scores before any final Softmax (N, C). */
  async logits(x: Tensor): Promise<Tensor> {
    this.checkInput(x);
    const n = x.shape[0]!;
    const out = new Float32Array(n * this.numClasses);
    await this.eachBatch(n, async (start, end, padded) => {
      const r = await this.forward.run({ [this.inputName]: rowsFeed(x, start, end, padded) });
      out.set((r[this.logitsName]!.data as Float32Array).subarray(0, (end - start) * this.numClasses), start * this.numClasses);
    });
    return { data: out, shape: [n, this.numClasses] };
  }

  /** Predicted class per example. */
  async predict(x: Tensor): Promise<Int32Array> {
    return argmaxRows(await this.logits(x));
  }

  private gradientGraph(
    loss: LossName | EmbeddingLoss,
    wrt: 'input' | 'params',
    reduction: 'sum' | 'mean',
  ): Promise<{ graph: GradientGraph; session: Session }> {
    const key = `${loss}|${wrt}|${reduction}`;
    let entry = this.gradGraphs.get(key);
    if (!entry) {
      entry = (async () => {
        const graph = await buildGradientGraph(this.ir, {
          wrt: wrt === 'params' ? this.trainableParams : wrt,
          input: this.inputName,
          output: this.options.output,
          outputReduce: this.options.outputReduce,
          loss,
          reduction,
          inputShapes: this.options.inputShapes,
          nonDifferentiable: this.options.nonDifferentiable,
        });
        const session = await Session.create(serializeModel(graph.model), {
          threads: this.options.threads ?? defaultThreads(),
          label: `${this.ir.path ?? 'model'} (${loss} gradient)`,
        });
        return { graph, session };
      })();
      this.gradGraphs.set(key, entry);
    }
    return entry;
  }

  /** The gradient graph used for a loss (built on first use), e.g. to list non-differentiable ops. */
  async gradientGraphFor(loss: LossName, wrt: 'input' | 'params' = 'input'): Promise<GradientGraph> {
    return (await this.gradientGraph(loss, wrt, 'sum')).graph;
  }

  /** Per-example loss and the gradient of the summed loss with respect to the input. */
  async lossAndGrad(x: Tensor, labels: Labels, loss: LossName = 'ce', targets?: Labels): Promise<LossAndGrad> {
    this.checkInput(x);
    const n = x.shape[0]!;
    this.checkLabels(labels, n);
    if (isTargetedLoss(loss)) {
      if (!targets) throw new GibbonError('invalid_option', `loss '${loss}' needs targets`, { option: 'targets' });
      this.checkLabels(targets, n, 'targets');
    }
    const { session } = await this.gradientGraph(loss, 'input', 'sum');
    const lossOut = new Float32Array(n);
    const grad = new Float32Array(x.data.length);
    const logits = new Float32Array(n * this.numClasses);
    const row = size(x.shape.slice(1));
    const gradName = gradOutputName(this.inputName);
    await this.eachBatch(n, async (start, end, padded) => {
      const feeds: Record<string, AnyTensor> = {
        [this.inputName]: rowsFeed(x, start, end, padded),
        [LABELS_INPUT]: labelsFeed(labels, start, end, padded),
      };
      if (targets) feeds[TARGETS_INPUT] = labelsFeed(targets, start, end, padded);
      const r = await session.run(feeds, [LOSS_OUTPUT, LOGITS_OUTPUT, gradName]);
      const k = end - start;
      lossOut.set((r[LOSS_OUTPUT]!.data as Float32Array).subarray(0, k), start);
      logits.set((r[LOGITS_OUTPUT]!.data as Float32Array).subarray(0, k * this.numClasses), start * this.numClasses);
      grad.set((r[gradName]!.data as Float32Array).subarray(0, k * row), start * row);
    });
    return { loss: lossOut, grad: { data: grad, shape: [...x.shape] }, logits: { data: logits, shape: [n, this.numClasses] } };
  }

  /**
   * For embedding models: the squared distance Σ_d (e_d − r_d)² of each example's embedding (the
   * class scores, (N, D)) from its reference row, and the gradient of the summed distance.
   */
  async embeddingDistanceAndGrad(x: Tensor, reference: Tensor): Promise<LossAndGrad> {
    this.checkInput(x);
    const n = x.shape[0]!;
    if (reference.shape.length !== 2 || reference.shape[0] !== n || reference.shape[1] !== this.numClasses) {
      throw new GibbonError(
        'invalid_input',
        `reference has shape [${reference.shape.join(', ')}]; expected one embedding per example, [${n}, ${this.numClasses}]`,
        { option: 'reference' },
      );
    }
    const { session } = await this.gradientGraph(EMBEDDING_LOSS, 'input', 'sum');
    const lossOut = new Float32Array(n);
    const grad = new Float32Array(x.data.length);
    const logits = new Float32Array(n * this.numClasses);
    const row = size(x.shape.slice(1));
    const gradName = gradOutputName(this.inputName);
    await this.eachBatch(n, async (start, end, padded) => {
      const r = await session.run({ [this.inputName]: rowsFeed(x, start, end, padded), [REFERENCE_INPUT]: rowsFeed(reference, start, end, padded) }, [
        LOSS_OUTPUT,
        LOGITS_OUTPUT,
        gradName,
      ]);
      const k = end - start;
      lossOut.set((r[LOSS_OUTPUT]!.data as Float32Array).subarray(0, k), start);
      logits.set((r[LOGITS_OUTPUT]!.data as Float32Array).subarray(0, k * this.numClasses), start * this.numClasses);
      grad.set((r[gradName]!.data as Float32Array).subarray(0, k * row), start * row);
    });
    return { loss: lossOut, grad: { data: grad, shape: [...x.shape] }, logits: { data: logits, shape: [n, this.numClasses] } };
  }

  /** Gradients of the summed (or mean) loss with respect to all trainable initializers. */
  async paramGrads(x: Tensor, labels: Labels, loss: LossName = 'ce', reduction: 'sum' | 'mean' = 'sum'): Promise<ParamGrads> {
    this.checkInput(x);
    const n = x.shape[0]!;
    this.checkLabels(labels, n);
    if (isTargetedLoss(loss)) throw new GibbonError('invalid_option', 'parameter gradients support untargeted losses only', { option: 'loss' });
    if (this.fixedBatch !== undefined && n % this.fixedBatch !== 0) {
      // Padding rows would add their own loss to the parameter gradients.
      throw new GibbonError(
        'invalid_input',
        `model has a fixed batch of ${this.fixedBatch}; parameter gradients need a multiple of that many examples, not ${n}`,
      );
    }
    const { graph, session } = await this.gradientGraph(loss, 'params', 'sum');
    const lossOut = new Float32Array(n);
    const logits = new Float32Array(n * this.numClasses);
    const sums = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    await this.eachBatch(n, async (start, end, padded) => {
      const r = await session.run({ [this.inputName]: rowsFeed(x, start, end, padded), [LABELS_INPUT]: labelsFeed(labels, start, end, padded) });
      const k = end - start;
      lossOut.set((r[LOSS_OUTPUT]!.data as Float32Array).subarray(0, k), start);
      logits.set((r[LOGITS_OUTPUT]!.data as Float32Array).subarray(0, k * this.numClasses), start * this.numClasses);
      for (const [w, out] of graph.gradOutputs) {
        const t = r[out]!;
        const acc = sums.get(w);
        if (acc) for (let i = 0; i < acc.length; i++) acc[i]! += (t.data as Float32Array)[i]!;
        else {
          sums.set(w, Float32Array.from(t.data as Float32Array));
          shapes.set(w, [...t.shape]);
        }
      }
    });
    const grads = new Map<string, Tensor>();
    for (const [w, data] of sums) {
      if (reduction === 'mean') for (let i = 0; i < data.length; i++) data[i]! /= n;
      grads.set(w, { data, shape: shapes.get(w)! });
    }
    return { loss: lossOut, grads, logits: { data: logits, shape: [n, this.numClasses] } };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.forward.dispose();
    for (const entry of this.gradGraphs.values()) {
      try {
        await (await entry).session.dispose();
      } catch {
        // a graph that failed to build has no session to free
      }
    }
  }
}
