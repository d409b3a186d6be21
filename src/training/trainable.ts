/**
 * A classifier being trained: its weights and BatchNorm running statistics live in JS arrays and
 * are fed to onnxruntime sessions built once: a training graph (train mode, parameter
 * gradients), an attack graph (eval mode, input gradient) and a forward graph (eval mode, logits).
 * `exportModel()` writes the current weights back into a plain inference ONNX model.
 */
import { GibbonError } from '../errors.js';
import { gradOutputName } from '../autodiff/differentiate.js';
import { trainableInitializers } from '../autodiff/gradient-graph.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { DataType as DT } from '../onnx/dtypes.js';
import { cloneModel, type ModelIR } from '../onnx/model.js';
import { decodeTensor, encodeTensor } from '../onnx/tensor-proto.js';
import type { Rng } from '../random.js';
import { GraphProgram, type GraphProgramOptions } from '../runtime/graph-program.js';
import type { AnyTensor } from '../tensor/tensor.js';
import type { HeadSpec } from './heads.js';
import { buildIbpTrainingGraph, HEAD_KAPPA, IBP_LABELS_INPUT, X_LOWER_INPUT, X_UPPER_INPUT, type IbpTrainingGraph } from './ibp-training-graph.js';
import { updateRunningStats } from './running-stats.js';
import {
  bnMeanOutput,
  bnVarOutput,
  buildTrainingGraph,
  HEAD_BETA,
  HEAD_LABELS,
  HEAD_PROBS,
  LOGITS_OUTPUT,
  LOSS_OUTPUT,
  outputClassScores,
  type TrainingGraph,
} from './training-graph.js';
import { withDynamicBatch } from './rebatch.js';

export interface TrainableOptions {
  /** Parameters to train (default: all trainable initializers). */
  params?: readonly string[];
  /** onnxruntime threads. Default: the number of cores. */
  threads?: number;
  /** Sizes for symbolic non-batch input dimensions, per input name. Default: the declared shapes. */
  inputShapes?: Record<string, readonly (number | null)[]>;
  /** Build the training graph with the TRADES head instead of mean cross-entropy. */
  trades?: boolean;
  /** Build the eval-mode KL graph (TRADES' inner maximisation). */
  klAttack?: boolean;
  /** Build the IBP training graph (ibp-training-graph.ts). */
  ibp?: boolean;
}

export interface StepResult {
  loss: number;
  logits: Float32Array;
  grads: Map<string, Float32Array>;
}

interface Compiled {
  graph: TrainingGraph;
  program: GraphProgram;
}

export class Trainable {
  private constructor(
    readonly source: ModelIR,
    /** Trained parameters (updated in place by the optimizer). */
    readonly weights: Map<string, Float32Array>,
    /** BatchNorm running statistics and other non-trained state. */
    readonly state: Map<string, Float32Array>,
    private readonly shapes: Map<string, number[]>,
    private readonly train: Compiled,
    private readonly attack: Compiled | undefined,
    private readonly kl: Compiled | undefined,
    private readonly forward: { program: GraphProgram; input: string },
    private readonly ibp: { graph: IbpTrainingGraph; program: GraphProgram } | undefined,
    /** The input is int64 token ids (fed from the float examples, which hold whole numbers). */
    private readonly idInput = false,
  ) {}

  static async create(original: ModelIR, options: TrainableOptions = {}): Promise<Trainable> {
    const source = (await withDynamicBatch(original, options)).model; // a fixed-batch model trains at any batch; exports keep its own
    const params = options.params ? [...options.params] : trainableInitializers(source);
    // Training alternates the graphs on the same cores: idle sessions must not spin.
    const compileOptions = (label: string): GraphProgramOptions => ({ threads: options.threads, label, spinning: false });
    const compile = async (label: string, mode: 'train' | 'eval', head: HeadSpec, grads: { params: boolean; input: boolean }): Promise<Compiled> => {
      const graph = await buildTrainingGraph(source, {
        mode,
        head,
        params,
        paramGrads: grads.params,
        inputGrad: grads.input,
        inputShapes: options.inputShapes,
      });
      return { graph, program: await GraphProgram.compile(graph.model, compileOptions(label)) };
    };
    const train = await compile('training graph', 'train', options.trades ? { type: 'trades' } : { type: 'ce', reduction: 'mean' }, {
      params: true,
      input: false,
    });
    // A text model's input is token ids: no input gradient, so no attack graph (text attacks work on texts).
    const idInput = source.graph.inputs.find((v) => v.name === train.graph.input)?.dataType === DT.INT64;
    const attack = idInput ? undefined : await compile('attack graph', 'eval', { type: 'ce', reduction: 'sum' }, { params: false, input: true });
    const kl = options.klAttack ? await compile('KL attack graph', 'eval', { type: 'kl' }, { params: false, input: true }) : undefined;
    let ibp: { graph: IbpTrainingGraph; program: GraphProgram } | undefined;
    if (options.ibp) {
      // The bound graph bounds the inference model; batch statistics and dropout masks have no interval form here.
      if (train.graph.batchNorms.length > 0 || train.graph.dropouts.length > 0) {
        const what = [
          train.graph.batchNorms.length > 0 ? `${train.graph.batchNorms.length} BatchNormalization` : '',
          train.graph.dropouts.length > 0 ? `${train.graph.dropouts.length} Dropout` : '',
        ]
          .filter((s) => s !== '')
          .join(' and ');
        throw new GibbonError(
          'unsupported_op',
          `IBP training needs a model without BatchNorm or Dropout in training mode; this one has ${what} node(s) (use option arch mlp or cnn without dropout)`,
          {
            option: 'method',
          },
        );
      }
      const graph = await buildIbpTrainingGraph(source, { params, inputShapes: options.inputShapes });
      ibp = { graph, program: await GraphProgram.compile(graph.model, compileOptions('IBP training graph')) };
    }

    const weights = new Map<string, Float32Array>();
    const state = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    const read = (name: string, into: Map<string, Float32Array>): void => {
      const init = source.graph.initializers.get(name);
      if (!init) throw new GibbonError('invalid_model', `initializer '${name}' not found`);
      if (init.dataType !== DT.FLOAT) throw new GibbonError('unsupported_op', `gibbon trains float32 parameters; '${name}' has ONNX type ${init.dataType}`);
      const t = decodeTensor(init);
      into.set(name, Float32Array.from(t.data as Float32Array));
      shapes.set(name, [...t.dims]);
    };
    for (const p of params) read(p, weights);
    for (const bn of train.graph.batchNorms) {
      read(bn.runningMean, state);
      read(bn.runningVar, state);
    }
    for (const s of attack?.graph.stateInputs ?? []) if (!state.has(s)) read(s, state);

    // Forward graph: the canonical model with parameters and running statistics as inputs.
    const fwd = canonicalize(source);
    for (const name of [...params, ...state.keys()]) {
      const t = fwd.graph.initializers.get(name);
      if (!t) continue;
      fwd.graph.initializers.delete(name);
      fwd.graph.inputs.push({ name, dataType: t.dataType, shape: t.dims.map(Number) });
    }
    await outputClassScores(fwd, options.inputShapes);
    const forward = { program: await GraphProgram.compile(fwd, compileOptions('forward graph')), input: train.graph.input };
    return new Trainable(original, weights, state, shapes, train, attack, kl, forward, ibp, idInput);
  }

  get input(): string {
    return this.train.graph.input;
  }

  get inputShape(): readonly (number | null)[] {
    return this.train.graph.inputShape;
  }

  get numClasses(): number {
    return this.train.graph.numClasses;
  }

  get paramNames(): readonly string[] {
    return this.train.graph.params;
  }

  get batchNormCount(): number {
    return this.train.graph.batchNorms.length;
  }

  get dropoutCount(): number {
    return this.train.graph.dropouts.length;
  }

  private feeds(names: readonly string[]): Record<string, AnyTensor> {
    const feeds: Record<string, AnyTensor> = {};
    for (const name of names) {
      const data = this.weights.get(name) ?? this.state.get(name);
      if (!data) throw new GibbonError('internal', `no value for '${name}'`);
      feeds[name] = { type: 'float32', data, shape: this.shapes.get(name)! };
    }
    return feeds;
  }

  private inputFeed(x: Float32Array, n: number): AnyTensor {
    const per = x.length / n;
    const shape = this.inputShape.map((d, i) => (i === 0 ? n : (d ?? per)));
    if (this.idInput) return { type: 'int64', data: BigInt64Array.from(x, (v) => BigInt(v)), shape };
    return { type: 'float32', data: x, shape };
  }

  private labelsFeed(y: Int32Array): AnyTensor {
    for (let i = 0; i < y.length; i++) {
      if (y[i]! < 0 || y[i]! >= this.numClasses) {
        throw new GibbonError('invalid_input', `label ${y[i]} at position ${i} does not fit the model's ${this.numClasses} classes (0–${this.numClasses - 1})`);
      }
    }
    return { type: 'int64', data: BigInt64Array.from(y, (v) => BigInt(v)), shape: [y.length] };
  }

  /**
   * One training-mode forward/backward pass on x (n examples): returns the loss, the logits and the
   * parameter gradients, and updates the BatchNorm running statistics (PyTorch semantics).
   * With the TRADES graph, x holds [clean; adversarial] (2n rows), y the n labels and beta is used.
   */
  async trainStep(x: Float32Array, n: number, y: Int32Array, rng: Rng, beta?: number): Promise<StepResult> {
    const g = this.train.graph;
    const feeds = this.feeds([...g.params]);
    feeds[g.input] = this.inputFeed(x, n);
    feeds[HEAD_LABELS] = this.labelsFeed(y);
    if (beta !== undefined) feeds[HEAD_BETA] = { type: 'float32', data: Float32Array.of(beta), shape: [] };
    for (const d of g.dropouts) {
      const shape = d.shape.map((s) => s ?? n);
      const size = shape.reduce((a, c) => a * c, 1);
      const keep = 1 / (1 - d.ratio);
      const mask = new Float32Array(size);
      for (let i = 0; i < size; i++) mask[i] = rng.uniform() >= d.ratio ? keep : 0;
      feeds[d.maskInput] = { type: 'float32', data: mask, shape };
    }
    const out = await this.train.program.run(feeds);
    for (const bn of g.batchNorms) {
      updateRunningStats(
        { mean: this.state.get(bn.runningMean)!, variance: this.state.get(bn.runningVar)! },
        { mean: out[bnMeanOutput(bn.node)]!.data as Float32Array, variance: out[bnVarOutput(bn.node)]!.data as Float32Array },
        { momentum: bn.momentum, count: n * bn.perExample },
      );
    }
    const grads = new Map<string, Float32Array>();
    for (const p of g.params) grads.set(p, out[gradOutputName(p)]!.data as Float32Array);
    return { loss: Number(out[LOSS_OUTPUT]!.data[0]), logits: out[LOGITS_OUTPUT]!.data as Float32Array, grads };
  }

  /**
   * One IBP training step on x (n examples): the loss κ·CE(z(x), y) + (1 − κ)·CE(ẑ(x, ε), y), the
   * clean logits and the parameter gradients. The ε-box is intersected with the input bounds.
   */
  async ibpStep(x: Float32Array, n: number, y: Int32Array, eps: number, kappa: number, bounds: { lower: number; upper: number }): Promise<StepResult> {
    if (!this.ibp) throw new GibbonError('internal', 'the IBP training graph was not built (ibp option)');
    const g = this.ibp.graph;
    const feeds = this.feeds([...g.params]);
    const lower = new Float32Array(2 * x.length);
    const upper = new Float32Array(2 * x.length);
    lower.set(x, 0);
    upper.set(x, 0);
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      lower[x.length + i] = Math.min(Math.max(v - eps, bounds.lower), v);
      upper[x.length + i] = Math.max(Math.min(v + eps, bounds.upper), v);
    }
    const shape = this.inputFeed(x, n).shape.map((d, i) => (i === 0 ? 2 * n : d));
    feeds[X_LOWER_INPUT] = { type: 'float32', data: lower, shape };
    feeds[X_UPPER_INPUT] = { type: 'float32', data: upper, shape };
    const labels = new Int32Array(2 * n);
    labels.set(y, 0);
    labels.set(y, n);
    feeds[IBP_LABELS_INPUT] = this.labelsFeed(labels);
    feeds[HEAD_KAPPA] = { type: 'float32', data: Float32Array.of(kappa), shape: [] };
    const out = await this.ibp.program.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const p of g.params) grads.set(p, out[gradOutputName(p)]!.data as Float32Array);
    return { loss: Number(out[LOSS_OUTPUT]!.data[0]), logits: out[LOGITS_OUTPUT]!.data as Float32Array, grads };
  }

  /** Eval-mode gradient of the summed cross-entropy with respect to the input (attacks). */
  async inputGradCe(x: Float32Array, n: number, y: Int32Array): Promise<{ grad: Float32Array; logits: Float32Array; loss: number }> {
    if (!this.attack)
      throw new GibbonError(
        'invalid_option',
        'the model reads token ids (int64): it has no input gradient, so it cannot be trained with an adversary on its input',
        { option: 'method' },
      );
    const g = this.attack.graph;
    const feeds = this.feeds([...g.params, ...g.stateInputs]);
    feeds[g.input] = this.inputFeed(x, n);
    feeds[HEAD_LABELS] = this.labelsFeed(y);
    const out = await this.attack.program.run(feeds);
    return {
      grad: out[gradOutputName(g.input)]!.data as Float32Array,
      logits: out[LOGITS_OUTPUT]!.data as Float32Array,
      loss: Number(out[LOSS_OUTPUT]!.data[0]),
    };
  }

  /** Eval-mode gradient of Σ KL(p ‖ softmax(f(x))) with respect to x (TRADES' inner maximisation). */
  async inputGradKl(x: Float32Array, n: number, probs: Float32Array): Promise<Float32Array> {
    if (!this.kl) throw new GibbonError('internal', 'the KL attack graph was not built (klAttack option)');
    const g = this.kl.graph;
    const feeds = this.feeds([...g.params, ...g.stateInputs]);
    feeds[g.input] = this.inputFeed(x, n);
    feeds[HEAD_PROBS] = { type: 'float32', data: probs, shape: [n, this.numClasses] };
    const out = await this.kl.program.run(feeds);
    return out[gradOutputName(g.input)]!.data as Float32Array;
  }

  /** Eval-mode logits. */
  async logits(x: Float32Array, n: number): Promise<Float32Array> {
    const feeds = this.feeds([...this.weights.keys(), ...this.state.keys()]);
    feeds[this.forward.input] = this.inputFeed(x, n);
    const out = await this.forward.program.run(feeds);
    return Object.values(out)[0]!.data as Float32Array;
  }

  /** The source model with the current weights and running statistics: a plain inference model. */
  exportModel(): ModelIR {
    const model = cloneModel(this.source);
    for (const [name, data] of [...this.weights, ...this.state]) {
      const old = model.graph.initializers.get(name)!;
      model.graph.initializers.set(name, encodeTensor(name, old.dataType, this.shapes.get(name)!, Float32Array.from(data)));
    }
    return model;
  }

  /** Every float value (weights and state) for checkpoints. */
  snapshot(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [k, v] of [...this.weights, ...this.state]) out[k] = Float32Array.from(v);
    return out;
  }

  restore(values: Record<string, Float32Array>): void {
    for (const [k, target] of [...this.weights, ...this.state]) {
      const v = values[k];
      if (!v || v.length !== target.length) throw new GibbonError('invalid_checkpoint', `checkpoint has no value of the right size for '${k}'`);
      target.set(v);
    }
  }

  async dispose(): Promise<void> {
    await Promise.all([
      this.train.program.dispose(),
      this.attack?.program.dispose(),
      this.kl?.program.dispose(),
      this.forward.program.dispose(),
      this.ibp?.program.dispose(),
    ]);
  }
}
