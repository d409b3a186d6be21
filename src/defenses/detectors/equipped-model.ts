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
import { gradOutputName } from '../../autodiff/gradient-graph.js';
import { emitLossHead } from '../../autodiff/loss-heads.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import { cloneModel, serializeModel, type ModelIR } from '../../onnx/model.js';
import { Session, defaultThreads } from '../../runtime/session.js';
import { forEachBatch, labelsFeed, rowsFeed } from '../../tensor/rows.js';
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
  private readonly objectiveSessions = new Map<string, Promise<{ session: Session; gradName: string }>>();
  private disposed = false;

  private constructor(
    /** The detector-equipped model (outputs logits, score and the extra values). */
    readonly ir: ModelIR,
    private readonly forward: Session,
    readonly inputName: string,
    readonly inputShape: readonly (number | null)[],
    readonly numClasses: number,
    readonly hasScore: boolean,
    private readonly extraOutputs: readonly string[],
    private readonly options: EquippedModelOptions,
  ) {}

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
    const forward = await Session.create(serializeModel(ir), { threads: options.threads ?? defaultThreads(), label });
    const probe = await forward.run({
      [input.name]: { type: 'float32', data: new Float32Array(size([1, ...(shape.slice(1) as number[])])), shape: [1, ...(shape.slice(1) as number[])] },
    });
    const numClasses = probe[LOGITS_OUTPUT]!.shape[1]!;
    return new EquippedModel(ir, forward, input.name, shape, numClasses, params !== undefined, options.extraOutputs ?? [], options);
  }

  private get batchSize(): number {
    return this.fixedBatch ?? this.options.batchSize ?? 128;
  }

  private get fixedBatch(): number | undefined {
    const fixed = this.inputShape[0];
    return typeof fixed === 'number' ? fixed : undefined;
  }

  private checkInput(x: Tensor): void {
    const expected = this.inputShape.slice(1);
    if (x.shape.length !== this.inputShape.length || expected.some((d, i) => d !== x.shape[i + 1])) {
      throw new GibbonError('invalid_input', `input has shape [${x.shape.join(', ')}] but the model expects [N, ${expected.join(', ')}]`, { option: 'x' });
    }
  }

  /** Logits, detector score and extra values for every example of x. */
  async run(x: Tensor): Promise<EquippedOutputs> {
    this.checkInput(x);
    const n = x.shape[0]!;
    const c = this.numClasses;
    const logits = new Float32Array(n * c);
    const score = new Float32Array(this.hasScore ? n : 0);
    const extra = new Map<string, Float32Array>();
    const fetches = [LOGITS_OUTPUT, ...(this.hasScore ? [SCORE_OUTPUT] : []), ...this.extraOutputs];
    await forEachBatch(n, this.batchSize, this.fixedBatch, async (start, end, padded) => {
      const k = end - start;
      const r = await this.forward.run({ [this.inputName]: rowsFeed(x, start, end, padded) }, fetches);
      logits.set((r[LOGITS_OUTPUT]!.data as Float32Array).subarray(0, k * c), start * c);
      if (this.hasScore) score.set((r[SCORE_OUTPUT]!.data as Float32Array).subarray(0, k), start);
      for (const name of this.extraOutputs) {
        const t = r[name]!;
        const row = size(t.shape.slice(1));
        let acc = extra.get(name);
        if (!acc) extra.set(name, (acc = new Float32Array(n * row)));
        acc.set((t.data as Float32Array).subarray(0, k * row), start * row);
      }
    });
    return { logits: { data: logits, shape: [n, c] }, score, extra };
  }

  private objectiveSession(objective: AdaptiveObjective): Promise<{ session: Session; gradName: string }> {
    const key = JSON.stringify(objective);
    let entry = this.objectiveSessions.get(key);
    if (!entry) {
      entry = (async () => {
        if (!this.hasScore) throw new GibbonError('internal', 'the adaptive objective needs a detector score');
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
          wrt: [this.inputName],
          outputs: [OBJECTIVE_OUTPUT],
          nonDifferentiable: objective.nonDifferentiable ?? 'identity',
        });
        const session = await Session.create(serializeModel(vjp.model), {
          threads: this.options.threads ?? defaultThreads(),
          label: `${this.ir.path ?? 'model'} (adaptive objective gradient)`,
        });
        return { session, gradName: vjp.gradOutputs.get(this.inputName) ?? gradOutputName(this.inputName) };
      })();
      this.objectiveSessions.set(key, entry);
    }
    return entry;
  }

  /** The adaptive objective per example and the gradient of its sum with respect to x. */
  async objectiveAndGrad(x: Tensor, labels: Int32Array, lambda: Float32Array, objective: AdaptiveObjective): Promise<ObjectiveAndGrad> {
    this.checkInput(x);
    const n = x.shape[0]!;
    if (labels.length !== n || lambda.length !== n)
      throw new GibbonError('internal', `objectiveAndGrad: ${n} examples, ${labels.length} labels, ${lambda.length} weights`);
    const { session, gradName } = await this.objectiveSession(objective);
    const c = this.numClasses;
    const row = size(x.shape.slice(1));
    const out = new Float32Array(n);
    const grad = new Float32Array(n * row);
    const logits = new Float32Array(n * c);
    const score = new Float32Array(n);
    await forEachBatch(n, this.batchSize, this.fixedBatch, async (start, end, padded) => {
      const k = end - start;
      const lam = new Float32Array(padded);
      lam.set(lambda.subarray(start, end));
      const r = await session.run(
        {
          [this.inputName]: rowsFeed(x, start, end, padded),
          [LABELS_INPUT]: labelsFeed(labels, start, end, padded),
          [LAMBDA_INPUT]: { type: 'float32', data: lam, shape: [padded] },
          [cotangentInputName(OBJECTIVE_OUTPUT)]: { type: 'float32', data: new Float32Array(padded).fill(1), shape: [padded] },
        },
        [OBJECTIVE_OUTPUT, LOGITS_OUTPUT, SCORE_OUTPUT, gradName],
      );
      out.set((r[OBJECTIVE_OUTPUT]!.data as Float32Array).subarray(0, k), start);
      logits.set((r[LOGITS_OUTPUT]!.data as Float32Array).subarray(0, k * c), start * c);
      score.set((r[SCORE_OUTPUT]!.data as Float32Array).subarray(0, k), start);
      grad.set((r[gradName]!.data as Float32Array).subarray(0, k * row), start * row);
    });
    return { objective: out, grad: { data: grad, shape: [...x.shape] }, logits: { data: logits, shape: [n, c] }, score };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.forward.dispose();
    for (const entry of this.objectiveSessions.values()) {
      try {
        await (await entry).session.dispose();
      } catch {
        // a graph that failed to build has no session to free
      }
    }
  }
}
