/**
 * Mahalanobis distance on penultimate-layer features: class means μ_c and one shared (tied)
 * covariance Σ are fitted on clean training features f(x); the score is the distance to the
 * closest class, s(x) = min_c (f(x) − μ_c)ᵀ Σ⁻¹ (f(x) − μ_c).
 *
 * Paper: Lee, Lee, Lee & Shin, "A Simple Unified Framework for Detecting Out-of-Distribution
 * Samples and Adversarial Attacks", NeurIPS 2018, https://arxiv.org/abs/1807.03888 (the
 * single-layer score, without the paper's input pre-processing or layer ensemble).
 * Threat model: the detector's parameters are fixed after fitting; the adaptive attack knows them.
 * Options: `features` (a value of the graph; default: the input of the last Gemm/MatMul, see
 * features.ts), `shrinkage` (ridge added to Σ before inverting, as a fraction of its mean
 * variance; default 0.01, so that units that never fire on training data keep a finite weight).
 *
 * Graph form: with the precision P = Σ⁻¹ = R·Rᵀ (Cholesky), (f − μ)ᵀP(f − μ) = ‖(f − μ)·R‖², so
 * the fragment is one MatMul by R, a broadcast subtraction of the projected means, a sum of
 * squares and a ReduceMin over classes.
 *
 * @example
 * ```ts
 * const params = fitMahalanobis(features, labels, numClasses, 'cnn/Relu_16');
 * const equipped = buildDetectorModel(loadModel('mnist.onnx'), params);
 * ```
 */
import { GibbonError } from '../../errors.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { DetectorScore, MahalanobisParams, ScoreContext } from './score-context.js';

export const DEFAULT_SHRINKAGE = 0.01;

/** Lower-triangular L with A = L·Lᵀ (A symmetric positive definite, n × n, row-major). */
export function cholesky(a: Float64Array, n: number, what: string): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new GibbonError('invalid_input', `${what} is not positive definite (pivot ${i} is ${s})`);
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j]!;
    }
  }
  return l;
}

/** A⁻¹ for symmetric positive definite A, through its Cholesky factor. */
export function inverseSpd(a: Float64Array, n: number, what: string): Float64Array {
  const l = cholesky(a, n, what);
  // Solve L·Y = I (forward), then Lᵀ·X = Y (backward), column by column.
  const inv = new Float64Array(n * n);
  const y = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
      y[i] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * inv[k * n + c]!;
      inv[i * n + c] = s / l[i * n + i]!;
    }
  }
  // Symmetrise away rounding.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) inv[i * n + j] = inv[j * n + i] = (inv[i * n + j]! + inv[j * n + i]!) / 2;
  return inv;
}

/**
 * Fits class means and the shared covariance (maximum likelihood, like Lee et al.) on features
 * (N rows of D) with their true labels; returns the detector's parameters.
 */
export function fitMahalanobis(
  features: Float32Array,
  labels: Int32Array,
  numClasses: number,
  featureName: string,
  shrinkage = DEFAULT_SHRINKAGE,
): MahalanobisParams {
  const n = labels.length;
  if (n === 0 || features.length % n !== 0) throw new GibbonError('internal', `fitMahalanobis: ${features.length} feature values for ${n} labels`);
  const d = features.length / n;
  const sums = new Float64Array(numClasses * d);
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    counts[c]!++;
    for (let j = 0; j < d; j++) sums[c * d + j]! += features[i * d + j]!;
  }
  for (let c = 0; c < numClasses; c++) {
    if (counts[c] === 0) {
      throw new GibbonError('invalid_input', `no training example of class ${c}: the Mahalanobis detector needs every class's mean (use more training data)`, {
        option: 'n',
      });
    }
    for (let j = 0; j < d; j++) sums[c * d + j]! /= counts[c]!;
  }
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    for (let j = 0; j < d; j++) centred[j] = features[i * d + j]! - sums[c * d + j]!;
    for (let j = 0; j < d; j++) {
      const cj = centred[j]!;
      if (cj === 0) continue;
      for (let k = j; k < d; k++) cov[j * d + k]! += cj * centred[k]!;
    }
  }
  let trace = 0;
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) cov[j * d + k] = cov[k * d + j] = cov[j * d + k]! / n;
    trace += cov[j * d + j]!;
  }
  const ridge = Math.max(shrinkage * (trace / d), 1e-8);
  for (let j = 0; j < d; j++) cov[j * d + j]! += ridge;
  const precision = inverseSpd(cov, d, `the covariance of features '${featureName}'`);
  const rows = (m: Float64Array, r: number, c: number): number[][] => Array.from({ length: r }, (_, i) => Array.from(m.subarray(i * c, (i + 1) * c)));
  return { kind: 'mahalanobis', features: featureName, means: rows(sums, numClasses, d), precision: rows(precision, d, d), shrinkage };
}

/** The score in plain JS (for tests and checks): min over classes of the Mahalanobis distance. */
export function mahalanobisScore(params: MahalanobisParams, feature: ArrayLike<number>): number {
  const d = params.precision.length;
  let best = Infinity;
  for (const mu of params.means) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      let row = 0;
      for (let k = 0; k < d; k++) row += params.precision[j]![k]! * (feature[k]! - mu[k]!);
      s += (feature[j]! - mu[j]!) * row;
    }
    best = Math.min(best, s);
  }
  return best;
}

export function emitMahalanobisScore(ctx: ScoreContext, params: MahalanobisParams): string {
  const { b, graph: g } = ctx;
  const d = params.precision.length;
  const c = params.means.length;
  if (d === 0 || params.precision.some((r) => r.length !== d) || params.means.some((r) => r.length !== d)) {
    throw new GibbonError(
      'invalid_input',
      `Mahalanobis parameters are inconsistent: precision ${d}×${params.precision[0]?.length ?? 0}, means ${c}×${params.means[0]?.length ?? 0}`,
      {
        option: 'detector',
      },
    );
  }
  const exists = g.inputs.some((v) => v.name === params.features) || g.nodes.some((n) => n.outputs.includes(params.features));
  if (!exists) {
    throw new GibbonError('invalid_model', `${ctx.where} has no value '${params.features}', which the Mahalanobis detector takes its features from`, {
      path: ctx.path,
      option: 'features',
    });
  }
  const p = Float64Array.from(params.precision.flat());
  const r = cholesky(p, d, 'the precision matrix of the detector');
  const means = new Float64Array(c * d);
  params.means.forEach((mu, i) => means.set(mu, i * d));
  // Projected means μ_c·R (C × D).
  const projected = new Float32Array(c * d);
  for (let i = 0; i < c; i++) {
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let j = k; j < d; j++) s += means[i * d + j]! * r[j * d + k]!;
      projected[i * d + k] = s;
    }
  }
  const f = b.op('Flatten', [params.features], { axis: 1 }, { name: 'mahalanobis/features' });
  const fr = b.op('MatMul', [f, b.constant(DT.FLOAT, [d, d], Float32Array.from(r), 'mahalanobis/cholesky')], {}, { name: 'mahalanobis/project' });
  const diff = b.op(
    'Sub',
    [b.op('Unsqueeze', [fr, b.int64s([1])], {}, { name: 'mahalanobis/rows' }), b.constant(DT.FLOAT, [c, d], projected, 'mahalanobis/means')],
    {},
    {
      name: 'mahalanobis/diff',
    },
  );
  const dist = b.op(
    'ReduceSum',
    [b.op('Mul', [diff, diff], {}, { name: 'mahalanobis/square' }), b.int64s([2])],
    { keepdims: 0 },
    { name: 'mahalanobis/distance' },
  );
  return b.op('ReduceMin', [dist, b.int64s([1])], { keepdims: 0 }, { name: 'mahalanobis/score' });
}

export const mahalanobisDetector: DetectorScore<MahalanobisParams> = { kind: 'mahalanobis', emitScore: emitMahalanobisScore };
