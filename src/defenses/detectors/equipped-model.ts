/**
 * EquippedModel: a classifier with a detector, run by onnxruntime. `run(x)` gives the logits and
 * the detector score (and any extra values asked for, e.g. features to fit on);
 * `objectiveAndGrad` gives the adaptive attacker's objective and its exact input gradient, from a
 * gradient graph of the whole detector-equipped model built once by gibbon's autodiff
 * (buildVjpGraph), with BPDA (the identity) or the true zero gradient at non-differentiable ops such
 * as Round.
 */
import { GibbonError } from '../../errors.js';
import { cotangentInputName, buildVjpGraph } from '../../autodiff/vjp-graph.js';
import { gradOutputName } from '../../autodiff/differentiate.js';
import { emitLossHead } from '../../autodiff/loss-heads.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import { cloneModel, type ModelIR } from '../../onnx/model.js';
import { GraphProgram, GraphPrograms } from '../../runtime/graph-program.js';
import { labelsFeed, rowsFeed } from '../../tensor/rows.js';
import { size, type Tensor } from '../../tensor/tensor.js';
import { buildDetectorModel, LOGITS_OUTPUT, SCORE_OUTPUT, type DetectorParams } from './detector.js';

export const LABELS_INPUT = 'labels';
export const LAMBDA_INPUT = 'lambda';
export const OBJECTIVE_OUTPUT = 'objective';

export interface EquippedModelOptions {
  /** onnxruntime threads. Default: the number of cores. */
  threads?: number;
  /** Examples per onnxruntime run (default 128). */
  batchSize?: number;
  /** More graph values to return from `run` (e.g. the features of a Mahalanobis detector). */
  extraOutputs?: readonly string[];
}

export interface EquippedOutputs {
  readonly logits: Tensor;
  /** Detector score per example (empty without a detector). */
  readonly score: Float32Array;
  /** Extra values, flattened per example (N rows). */
  readonly extra: ReadonlyMap<string, Float32Array>;
}

/**
 * The adaptive attacker's objective, to be increased:
 *   J(x) = min(m(x), κ) − λ·max(0, (s(x) − τ)/σ + δ)
 * with m the C&W margin max_{j≠y} z_j − z_y (positive once misclassified), τ the detector's
 * threshold and σ the spread of its clean scores. Each term stops pulling once its goal is met
 * with a margin: misclassified by κ, and the score δ·σ below the threshold.
 */
export interface AdaptiveObjective {
  readonly kappa: number;
  readonly threshold: number;
  readonly scale: number;
  readonly delta: number;
  /**
   * The gradient at Round and other quantisers: 'identity' (BPDA straight-through, default) or
   * 'zero' (their true gradient; exact while the attack keeps their outputs fixed).
   */
  readonly nonDifferentiable?: 'identity' | 'zero';
}

export interface ObjectiveAndGrad {
  readonly objective: Float32Array;
  readonly grad: Tensor;
  readonly logits: Tensor;
  readonly score: Float32Array;
}

export class EquippedModel {
  /** The adaptive objective's gradient graph per objective; its info is the gradient output's name. */
  private readonly objectives: GraphPrograms<string>;

  private constructor(
    /** The detector-equipped model (outputs logits, score and the extra values). */
    readonly ir: ModelIR,
    private readonly forward: GraphProgram,
    /** The attacked input; null marks the batch dimension of its shape. */
    readonly input: { readonly name: string; readonly shape: readonly (number | null)[] },
    readonly numClasses: number,
    /** Whether the graph outputs a detector score, and the extra values `run` returns. */
    private readonly outputs: { readonly score: boolean; readonly extra: readonly string[] },
  ) {
    this.objectives = new GraphPrograms(forward.options);
  }

  static async create(classifier: ModelIR, params: DetectorParams | undefined, options: EquippedModelOptions = {}): Promise<EquippedModel> {
    const ir = buildDetectorModel(classifier, params, options.extraOutputs ?? []);
    const input = ir.graph.inputs.find((v) => v.dataType === DT.FLOAT);
    if (!input) throw new GibbonError('invalid_model', `${classifier.path ?? 'model'} has no float32 input`, { path: classifier.path });
    const shape = (input.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : null));
    if (shape.length === 0 || shape.slice(1).some((d) => d === null)) {
      throw new GibbonError(
        'invalid_model',
        `input '${input.name}' of ${classifier.path ?? 'model'} needs static non-batch dimensions; found [${(input.shape ?? []).join(', ')}]`,
        {
          path: classifier.path,
        },
      );
    }
    const label = `${classifier.path ?? 'model'} (with detector)`;
    const fixedBatch = typeof shape[0] === 'number' ? shape[0] : undefined;
    const forward = await GraphProgram.compile(ir, { threads: options.threads, batchSize: options.batchSize ?? 128, fixedBatch, label });
    const one = [1, ...(shape.slice(1) as number[])];
    const probe = await forward.run({ [input.name]: { type: 'float32', data: new Float32Array(size(one)), shape: one } });
    const numClasses = probe[LOGITS_OUTPUT]!.shape[1]!;
    const outputs = { score: params !== undefined, extra: options.extraOutputs ?? [] };
    return new EquippedModel(ir, forward, { name: input.name, shape }, numClasses, outputs);
  }

  /** The attacked input's shape, batch first (null where dynamic), as oracles describe a model. */
  get inputShape(): readonly (number | null)[] {
    return this.input.shape;
  }

  /** Whether the model outputs a detector score (the adaptive objective needs one). */
  get hasScore(): boolean {
    return this.outputs.score;
  }

  private checkInput(x: Tensor): void {
    const expected = this.input.shape.slice(1);
    if (x.shape.length !== this.input.shape.length || expected.some((d, i) => d !== x.shape[i + 1])) {
      throw new GibbonError('invalid_input', `input has shape [${x.shape.join(', ')}] but the model expects [N, ${expected.join(', ')}]`, { option: 'x' });
    }
  }

  /** Logits, detector score and extra values for every example of x. */
  async run(x: Tensor): Promise<EquippedOutputs> {
    this.checkInput(x);
    const n = x.shape[0]!;
    const scores = this.outputs.score ? [SCORE_OUTPUT] : [];
    const r = await this.forward.runBatches(n, (b) => ({ [this.input.name]: rowsFeed(x, b.start, b.end, b.padded) }), {
      gather: [LOGITS_OUTPUT, ...scores, ...this.outputs.extra],
    });
    const extra = new Map(this.outputs.extra.map((name) => [name, r[name]!]));
    return { logits: { data: r[LOGITS_OUTPUT]!, shape: [n, this.numClasses] }, score: this.outputs.score ? r[SCORE_OUTPUT]! : new Float32Array(0), extra };
  }

  /** The adaptive objective's gradient graph (built on first use): the detector-equipped model, its objective and the input gradient. */
  private objectiveProgram(objective: AdaptiveObjective): GraphProgram<string> {
    return this.objectives.get(JSON.stringify(objective), `${this.ir.path ?? 'model'} (adaptive objective gradient)`, async () => {
      if (!this.outputs.score) throw new GibbonError('internal', 'the adaptive objective needs a detector score');
      const model = cloneModel(this.ir);
      const g = model.graph;
      const b = new GraphBuilder(g, 'adaptive');
      g.inputs.push({ name: LABELS_INPUT, dataType: DT.INT64, shape: ['batch'] });
      g.inputs.push({ name: LAMBDA_INPUT, dataType: DT.FLOAT, shape: ['batch'] });
      const margin = emitLossHead(b, 'margin', { logits: LOGITS_OUTPUT, labels: LABELS_INPUT, numClasses: this.numClasses });
      const capped = b.op('Min', [margin, b.scalar(objective.kappa)], {}, { name: 'adaptive/margin' });
      const excess = b.op(
        'Relu',
        [b.op('Add', [b.op('Div', [b.op('Sub', [SCORE_OUTPUT, b.scalar(objective.threshold)]), b.scalar(objective.scale)]), b.scalar(objective.delta)])],
        {},
        { name: 'adaptive/detected' },
      );
      const penalty = b.op('Mul', [excess, LAMBDA_INPUT], {}, { name: 'adaptive/penalty' });
      b.node('Sub', [capped, penalty], {}, { outputNames: [OBJECTIVE_OUTPUT] });
      g.outputs = [
        { name: OBJECTIVE_OUTPUT, dataType: 0, shape: null },
        { name: LOGITS_OUTPUT, dataType: 0, shape: null },
        { name: SCORE_OUTPUT, dataType: 0, shape: null },
      ];
      const vjp = await buildVjpGraph(model, {
        wrt: [this.input.name],
        outputs: [OBJECTIVE_OUTPUT],
        nonDifferentiable: objective.nonDifferentiable ?? 'identity',
      });
      return { model: vjp.model, info: vjp.gradOutputs.get(this.input.name) ?? gradOutputName(this.input.name) };
    });
  }

  /** The adaptive objective per example and the gradient of its sum with respect to x. */
  async objectiveAndGrad(x: Tensor, labels: Int32Array, lambda: Float32Array, objective: AdaptiveObjective): Promise<ObjectiveAndGrad> {
    this.checkInput(x);
    const n = x.shape[0]!;
    if (labels.length !== n || lambda.length !== n)
      throw new GibbonError('internal', `objectiveAndGrad: ${n} examples, ${labels.length} labels, ${lambda.length} weights`);
    const program = this.objectiveProgram(objective);
    const gradName = await program.info();
    const r = await program.runBatches(
      n,
      ({ start, end, padded }) => {
        const lam = new Float32Array(padded);
        lam.set(lambda.subarray(start, end));
        return {
          [this.input.name]: rowsFeed(x, start, end, padded),
          [LABELS_INPUT]: labelsFeed(labels, start, end, padded),
          [LAMBDA_INPUT]: { type: 'float32', data: lam, shape: [padded] },
          [cotangentInputName(OBJECTIVE_OUTPUT)]: { type: 'float32', data: new Float32Array(padded).fill(1), shape: [padded] },
        };
      },
      { gather: [OBJECTIVE_OUTPUT, LOGITS_OUTPUT, SCORE_OUTPUT, gradName] },
    );
    return {
      objective: r[OBJECTIVE_OUTPUT]!,
      grad: { data: r[gradName]!, shape: [...x.shape] },
      logits: { data: r[LOGITS_OUTPUT]!, shape: [n, this.numClasses] },
      score: r[SCORE_OUTPUT]!,
    };
  }

  async dispose(): Promise<void> {
    await this.forward.dispose();
    await this.objectives.dispose();
  }
}
