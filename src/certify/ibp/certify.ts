/**
 * Certified accuracy under L∞ perturbations by interval bound propagation (Gowal et al. 2018,
 * "On the effectiveness of interval bound propagation for training verifiably robust models",
 * arXiv:1810.12715).
 *
 * Threat model: any input within L∞ distance ε of the example and inside the input domain
 * (default [0, 1]). An example is certified at ε when the bound graph (interval-graph.ts) proves
 * z_y − z_j > 0 for every other class j over the whole box: the guarantee is deterministic (up to
 * float32 rounding), but IBP is loose, so an example that does not certify may still be robust.
 *
 * Options: `batchSize` (examples per onnxruntime run, default 128), `threads`, `elide` (fold the
 * final affine layer into the margins, default true), `domain` (default [0, 1]), `done` and
 * `secondsBefore` (records of an earlier run, skipped: resume), `onBatch` (checkpoint), `onProgress`,
 * `signal`.
 *
 * @example
 * const result = await certifyIbp(loadModel('models/mnist-robust.onnx'), x, labels, [0.01, 0.1]);
 * result.curve.points; // [{ radius: 0, certified_accuracy: 0.98 }, { radius: 0.01, … }, …]
 */
import { GibbonError } from '../../errors.js';
import type { ModelIR } from '../../onnx/model.js';
import { checkBatchSize, GraphProgram } from '../../runtime/graph-program.js';
import { labelsFeed } from '../../tensor/rows.js';
import type { Tensor } from '../../tensor/tensor.js';
import { certifiedAccuracyCurve, type CertifiedAccuracyCurve, type CertifiedExample } from '../result.js';
import {
  buildIntervalGraph,
  IBP_LABELS_INPUT,
  LOGITS_LOWER_OUTPUT,
  MARGIN_LOWER_OUTPUT,
  X_LOWER_INPUT,
  X_UPPER_INPUT,
  type IntervalGraph,
} from './interval-graph.js';

export { buildIntervalGraph, type IntervalGraph, type IntervalGraphOptions } from './interval-graph.js';

export interface IbpOptions {
  /** Examples per onnxruntime run (default 128). */
  readonly batchSize?: number;
  /** onnxruntime threads. Default: the number of cores. */
  readonly threads?: number;
  /** Fold a final Gemm / MatMul + Add into the margins (default true; tighter). */
  readonly elide?: boolean;
  /** The input domain the ε-box is intersected with (default [0, 1]). */
  readonly domain?: readonly [number, number];
  /** Records of examples certified earlier (a resumed run); their indices are skipped. */
  readonly done?: readonly CertifiedExample[];
  /** Seconds spent by earlier runs. */
  readonly secondsBefore?: number;
  /** Aborts the run between batches. Default none. */
  readonly signal?: AbortSignal;
  /** After every batch: all records so far (ordered by index) and seconds spent; for checkpoints. */
  readonly onBatch?: (records: readonly CertifiedExample[], seconds: number) => void;
  /** Examples finished (including resumed ones) out of the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface IbpCertification {
  /** Certified accuracy at 0 and at every ε given. */
  readonly curve: CertifiedAccuracyCurve;
  /** Per example: prediction, correctness, radius = the largest ε up to which every given ε certified; `details` has the worst margin bound per ε. */
  readonly records: CertifiedExample[];
  /** The ε values, ascending. */
  readonly eps: readonly number[];
  /** certified[e][i]: example i is certified at eps[e]. */
  readonly certified: readonly boolean[][];
  readonly elided: boolean;
}

/** The key of an example's worst margin bound at ε in `details`. */
export const marginKey = (eps: number): string => `margin_lower@${eps}`;

export function checkEpsilons(eps: readonly number[]): number[] {
  if (eps.length === 0) throw new GibbonError('invalid_option', 'give at least one ε to certify', { option: 'eps' });
  for (const e of eps) {
    if (!Number.isFinite(e) || e < 0) throw new GibbonError('invalid_option', `ε must be a finite number ≥ 0; got ${e}`, { option: 'eps' });
  }
  return [...new Set(eps)].sort((a, b) => a - b);
}

/** Runs a bound graph on one batch: the worst margin bound (min over j ≠ y) and the predicted class at the box. */
export class IntervalBoundRunner {
  private constructor(
    readonly graph: IntervalGraph,
    /** The bound graph's program; its batches are those of a certification run. */
    readonly program: GraphProgram,
  ) {}

  static async create(source: ModelIR | IntervalGraph, options: { threads?: number; elide?: boolean; batchSize?: number } = {}): Promise<IntervalBoundRunner> {
    const graph = 'numClasses' in source ? source : await buildIntervalGraph(source, { elide: options.elide });
    const fixedBatch = typeof graph.inputShape[0] === 'number' ? graph.inputShape[0] : undefined;
    const program = await GraphProgram.compile(graph.model, {
      threads: options.threads,
      batchSize: options.batchSize,
      fixedBatch,
      label: 'interval bound graph',
    });
    return new IntervalBoundRunner(graph, program);
  }

  /** For x in [lower, upper] (rows of `shape`): min_{j≠y} lower bound of z_y − z_j, and argmax of logits_lower. */
  async worstMargins(
    lower: Float32Array,
    upper: Float32Array,
    shape: readonly number[],
    labels: ArrayLike<number>,
  ): Promise<{ margin: Float32Array; argmaxLower: Int32Array }> {
    const n = shape[0]!;
    const k = this.graph.numClasses;
    const r = await this.program.run(
      {
        [X_LOWER_INPUT]: { type: 'float32', data: lower, shape },
        [X_UPPER_INPUT]: { type: 'float32', data: upper, shape },
        [IBP_LABELS_INPUT]: labelsFeed(labels, 0, n, n),
      },
      [MARGIN_LOWER_OUTPUT, LOGITS_LOWER_OUTPUT],
    );
    const m = r[MARGIN_LOWER_OUTPUT]!.data as Float32Array;
    const z = r[LOGITS_LOWER_OUTPUT]!.data as Float32Array;
    const margin = new Float32Array(n);
    const argmaxLower = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let worst = Infinity;
      let best = 0;
      for (let j = 0; j < k; j++) {
        // NaN (an unbounded intermediate, e.g. a division by an interval around 0) proves nothing.
        const v = m[i * k + j]!;
        if (j !== labels[i] && !(v >= worst)) worst = Number.isNaN(v) ? -Infinity : v;
        if (z[i * k + j]! > z[i * k + best]!) best = j;
      }
      margin[i] = worst;
      argmaxLower[i] = best;
    }
    return { margin, argmaxLower };
  }

  async dispose(): Promise<void> {
    await this.program.dispose();
  }
}

/**
 * Certifies every example of x at every ε: one bound-graph run per batch and ε, plus one at ε = 0
 * for the clean prediction (the bounds then coincide with the logits).
 */
export async function certifyIbp(
  model: ModelIR | IntervalGraph,
  x: Tensor,
  labels: ArrayLike<number>,
  epsilons: readonly number[],
  options: IbpOptions = {},
): Promise<IbpCertification> {
  const eps = checkEpsilons(epsilons);
  const n = x.shape[0]!;
  if (labels.length !== n) throw new GibbonError('invalid_input', `labels has ${labels.length} entries but the input has ${n} examples`, { option: 'labels' });
  const batchSize = checkBatchSize(options.batchSize ?? 128);
  const [low, high] = options.domain ?? [0, 1];
  const started = performance.now();
  const elapsed = (): number => (options.secondsBefore ?? 0) + (performance.now() - started) / 1000;
  const runner = await IntervalBoundRunner.create(model, { threads: options.threads, elide: options.elide, batchSize });
  const graph = runner.graph;
  try {
    const expected = graph.inputShape.slice(1);
    if (x.shape.length !== graph.inputShape.length || expected.some((d, i) => d !== null && d !== x.shape[i + 1])) {
      throw new GibbonError('invalid_input', `input has shape [${x.shape.join(', ')}] but the model expects [N, ${expected.map((d) => d ?? '?').join(', ')}]`, {
        option: 'x',
      });
    }
    for (let i = 0; i < n; i++) {
      const y = Number(labels[i]);
      if (!Number.isInteger(y) || y < 0 || y >= graph.numClasses) {
        throw new GibbonError('invalid_input', `labels[${i}] = ${y} is not a class of this model (0…${graph.numClasses - 1})`, { option: 'labels' });
      }
    }
    const row = x.shape.slice(1).reduce((a, d) => a * d, 1);
    const known = new Map((options.done ?? []).map((r) => [r.index, r]));
    const records: (CertifiedExample | undefined)[] = Array.from({ length: n }, (_, i) => known.get(i));
    const certified = eps.map(() => new Array<boolean>(n).fill(false));
    for (let i = 0; i < n; i++) {
      const r = records[i];
      if (r) eps.forEach((e, k) => (certified[k]![i] = r.correct && r.radius >= e));
    }
    const finished = (): number => records.filter((r) => r !== undefined).length;
    options.onProgress?.(finished(), n);
    for (const { start, end, padded: rows } of runner.program.batches(n)) {
      if (records.slice(start, end).every((r) => r !== undefined)) continue;
      options.signal?.throwIfAborted();
      const shape = [rows, ...x.shape.slice(1)];
      const centre = new Float32Array(rows * row);
      centre.set(x.data.subarray(start * row, end * row));
      const y = Int32Array.from({ length: rows }, (_, i) => (start + i < end ? Number(labels[start + i]) : 0));
      const clean = await runner.worstMargins(centre, centre, shape, y);
      const margins: Float32Array[] = [];
      for (const e of eps) {
        options.signal?.throwIfAborted();
        const lower = new Float32Array(centre.length);
        const upper = new Float32Array(centre.length);
        for (let i = 0; i < centre.length; i++) {
          const v = centre[i]!;
          lower[i] = Math.min(Math.max(v - e, low), v);
          upper[i] = Math.max(Math.min(v + e, high), v);
        }
        margins.push((await runner.worstMargins(lower, upper, shape, y)).margin);
      }
      for (let i = 0; i < end - start; i++) {
        const index = start + i;
        if (records[index]) continue;
        const label = y[i]!;
        const prediction = clean.argmaxLower[i]!;
        const correct = prediction === label;
        let radius = 0;
        const details: Record<string, number> = {};
        let unbroken = correct;
        eps.forEach((e, k) => {
          const m = margins[k]![i]!;
          details[marginKey(e)] = Number.isFinite(m) ? m : -1e30;
          const ok = correct && m > 0;
          certified[k]![index] = ok;
          if (unbroken && ok) radius = e;
          else unbroken = false;
        });
        records[index] = { index, label, prediction, radius, correct, details };
      }
      const done = records.filter((r): r is CertifiedExample => r !== undefined);
      options.onBatch?.(done, elapsed());
      options.onProgress?.(done.length, n);
    }
    const all = records as CertifiedExample[];
    const curve = certifiedAccuracyCurve(all, {
      method: 'ibp',
      norm: 'linf',
      seconds: elapsed(),
      radii: eps,
      parameters: { eps: eps.join(', '), elided: graph.elided ? 'yes' : 'no', domain: `[${low}, ${high}]` },
    });
    // The curve's points are exactly the ε values (and 0): radii are ε values by construction.
    return { curve, records: all, eps, certified, elided: graph.elided };
  } finally {
    await runner.dispose();
  }
}
