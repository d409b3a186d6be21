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
import { loadModel, type ModelIR } from '../onnx/model.js';
import { GraphProgram, GraphPrograms, type Batch, type Feeds } from '../runtime/graph-program.js';
import { concreteInputShape } from '../autodiff/probe.js';
import { labelsFeed, rowsFeed } from '../tensor/rows.js';
import { checkExamples } from './check-examples.js';
import { bindInputs, prependNormalization, unboundInputs, type InputValue, type Normalization } from './model-inputs.js';
import { argmaxRows, size, type Tensor } from '../tensor/tensor.js';
import type { LabelArray, LossAndGrad } from './oracles.js';

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

export interface ParamGrads {
  readonly loss: Float32Array;
  /** Gradient per initializer name of the SUM (or mean) of the loss over the batch. */
  readonly grads: Map<string, Tensor>;
  readonly logits: Tensor;
}

export class OnnxModel {
  private readonly gradients: GraphPrograms<GradientGraph>;

  private constructor(
    readonly ir: ModelIR,
    private readonly forward: GraphProgram,
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
  ) {
    this.gradients = new GraphPrograms(forward.options);
  }

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
        `${path} has inputs ${unbound.map((n) => `'${n}'`).join(', ')} besides '${inputName}'; give each a value (option feed ${unbound[0]}=FILE.npy or a number), or choose the attacked input with option wrtInput`,
        { path: original.path, option: 'feed' },
      );
    }
    if (options.normalization) ir = prependNormalization(ir, inputName, options.normalization);
    const canon = canonicalize(ir);
    const g = canon.graph;
    const input = g.inputs.find((v) => v.name === inputName)!;
    const head = await attachClassScores(canon, { output: options.output, reduce: options.outputReduce, inputShapes: options.inputShapes });
    g.outputs = [{ name: head.scores, dataType: 0, shape: null }];
    const given = options.inputShapes?.[input.name];
    const shape = (input.shape ?? given ?? []).map((d, i) => (typeof given?.[i] === 'number' ? given[i]! : typeof d === 'number' && d > 0 ? d : null));
    const fixedBatch = typeof shape[0] === 'number' ? shape[0] : undefined;
    const forward = await GraphProgram.compile(canon, { threads: options.threads, batchSize: options.batchSize, fixedBatch, label: path });
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
    return this.forward.fixedBatch;
  }

  /** Checks that x fits the model input; names expected and found shapes. */
  checkInput(x: Tensor, what = 'input'): void {
    checkExamples(x, this.inputShape, what);
  }

  checkLabels(labels: LabelArray, n: number, what = 'labels'): void {
    if (labels.length !== n) throw new GibbonError('invalid_input', `${what} has ${labels.length} entries but the input has ${n} examples`, { option: what });
    for (let i = 0; i < labels.length; i++) {
      const v = Number(labels[i]);
      if (!Number.isInteger(v) || v < 0 || v >= this.numClasses) {
        throw new GibbonError('invalid_input', `${what}[${i}] = ${v} is not a class of this model (0…${this.numClasses - 1})`, { option: what });
      }
    }
  }

  /** Class scores before any final Softmax (N, C). */
  async logits(x: Tensor): Promise<Tensor> {
    this.checkInput(x);
    const n = x.shape[0]!;
    const r = await this.forward.runBatches(n, (b) => ({ [this.inputName]: rowsFeed(x, b.start, b.end, b.padded) }), { gather: [this.logitsName] });
    return { data: r[this.logitsName]!, shape: [n, this.numClasses] };
  }

  /** Predicted class per example. */
  async predict(x: Tensor): Promise<Int32Array> {
    return argmaxRows(await this.logits(x));
  }

  /** The gradient graph of a loss, built and compiled on first use. */
  private gradientProgram(loss: LossName | EmbeddingLoss, wrt: 'input' | 'params', reduction: 'sum' | 'mean'): GraphProgram<GradientGraph> {
    return this.gradients.get(`${loss}|${wrt}|${reduction}`, `${this.ir.path ?? 'model'} (${loss} gradient)`, async () => {
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
      return { model: graph.model, info: graph };
    });
  }

  /** The gradient graph used for a loss (built on first use), e.g. to list non-differentiable ops. */
  async gradientGraphFor(loss: LossName, wrt: 'input' | 'params' = 'input'): Promise<GradientGraph> {
    return this.gradientProgram(loss, wrt, 'sum').info();
  }

  /** Per-example loss and the gradient of the summed loss with respect to the input. */
  async lossAndGrad(x: Tensor, labels: LabelArray, loss: LossName = 'ce', targets?: LabelArray): Promise<LossAndGrad> {
    this.checkInput(x);
    const n = x.shape[0]!;
    this.checkLabels(labels, n);
    if (isTargetedLoss(loss)) {
      if (!targets) throw new GibbonError('invalid_option', `loss '${loss}' needs targets`, { option: 'targets' });
      this.checkLabels(targets, n, 'targets');
    }
    return this.inputGradient(x, loss, (b) => ({
      [LABELS_INPUT]: labelsFeed(labels, b.start, b.end, b.padded),
      ...(targets ? { [TARGETS_INPUT]: labelsFeed(targets, b.start, b.end, b.padded) } : {}),
    }));
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
    return this.inputGradient(x, EMBEDDING_LOSS, (b) => ({ [REFERENCE_INPUT]: rowsFeed(reference, b.start, b.end, b.padded) }));
  }

  /** Per-example loss, logits and the input gradient of the summed loss, batch by batch; `feeds` gives a batch's labels or references. */
  private async inputGradient(x: Tensor, loss: LossName | EmbeddingLoss, feeds: (b: Batch) => Feeds): Promise<LossAndGrad> {
    const n = x.shape[0]!;
    const gradName = gradOutputName(this.inputName);
    const r = await this.gradientProgram(loss, 'input', 'sum').runBatches(
      n,
      (b) => ({ [this.inputName]: rowsFeed(x, b.start, b.end, b.padded), ...feeds(b) }),
      {
        gather: [LOSS_OUTPUT, LOGITS_OUTPUT, gradName],
      },
    );
    return { loss: r[LOSS_OUTPUT]!, grad: { data: r[gradName]!, shape: [...x.shape] }, logits: { data: r[LOGITS_OUTPUT]!, shape: [n, this.numClasses] } };
  }

  /** Gradients of the summed (or mean) loss with respect to all trainable initializers. */
  async paramGrads(x: Tensor, labels: LabelArray, loss: LossName = 'ce', reduction: 'sum' | 'mean' = 'sum'): Promise<ParamGrads> {
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
    const program = this.gradientProgram(loss, 'params', 'sum');
    const { gradOutputs } = await program.info();
    const sums = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    const r = await program.runBatches(
      n,
      (b) => ({ [this.inputName]: rowsFeed(x, b.start, b.end, b.padded), [LABELS_INPUT]: labelsFeed(labels, b.start, b.end, b.padded) }),
      {
        gather: [LOSS_OUTPUT, LOGITS_OUTPUT],
        fetches: [LOSS_OUTPUT, LOGITS_OUTPUT, ...gradOutputs.values()],
        each: (out) => {
          for (const [w, name] of gradOutputs) {
            const t = out[name]!;
            const acc = sums.get(w);
            if (acc) for (let i = 0; i < acc.length; i++) acc[i]! += (t.data as Float32Array)[i]!;
            else {
              sums.set(w, Float32Array.from(t.data as Float32Array));
              shapes.set(w, [...t.shape]);
            }
          }
        },
      },
    );
    const grads = new Map<string, Tensor>();
    for (const [w, data] of sums) {
      if (reduction === 'mean') for (let i = 0; i < data.length; i++) data[i]! /= n;
      grads.set(w, { data, shape: shapes.get(w)! });
    }
    return { loss: r[LOSS_OUTPUT]!, grads, logits: { data: r[LOGITS_OUTPUT]!, shape: [n, this.numClasses] } };
  }

  async dispose(): Promise<void> {
    await this.forward.dispose();
    await this.gradients.dispose();
  }
}
