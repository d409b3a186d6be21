/**
 * A tiny linear classifier computed in plain JS (logits = W·x + b), with exact 'ce', 'margin' and
 * 'margin-targeted' gradients: a fast stand-in for OnnxModel in tests of oracles and the attack harness.
 */
import type { LossName } from '../../autodiff/loss-heads.js';
import { GibbonError } from '../../errors.js';
import { size, type Tensor } from '../../tensor/tensor.js';
import type { DifferentiableModel, LabelArray, LossAndGrad } from '../oracles.js';

export class LinearModel implements DifferentiableModel {
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  /** Forward passes run (rows). */
  rowsEvaluated = 0;

  constructor(
    /** (C, D) row-major. */
    readonly weights: Float32Array,
    readonly bias: Float32Array,
    exampleShape: readonly number[],
  ) {
    this.numClasses = bias.length;
    this.inputShape = [null, ...exampleShape];
    if (weights.length !== this.numClasses * size(exampleShape)) throw new GibbonError('internal', 'LinearModel: weights do not fit');
  }

  async logits(x: Tensor): Promise<Tensor> {
    const n = x.shape[0]!;
    const d = x.data.length / n;
    const c = this.numClasses;
    const out = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < c; k++) {
        let s = this.bias[k]!;
        for (let j = 0; j < d; j++) s += this.weights[k * d + j]! * x.data[i * d + j]!;
        out[i * c + k] = s;
      }
    }
    this.rowsEvaluated += n;
    return { data: out, shape: [n, c] };
  }

  async lossAndGrad(x: Tensor, labels: LabelArray, loss: LossName = 'ce', targets?: LabelArray): Promise<LossAndGrad> {
    const z = await this.logits(x);
    const n = x.shape[0]!;
    const d = x.data.length / n;
    const c = this.numClasses;
    const lossOut = new Float32Array(n);
    const grad = new Float32Array(x.data.length);
    for (let i = 0; i < n; i++) {
      const y = Number(labels[i]);
      const row = z.data.subarray(i * c, (i + 1) * c);
      const dz = new Float64Array(c);
      if (loss === 'ce') {
        const m = Math.max(...row);
        const e = Array.from(row, (v) => Math.exp(v - m));
        const s = e.reduce((a, b) => a + b, 0);
        lossOut[i] = Math.log(s) + m - row[y]!;
        for (let k = 0; k < c; k++) dz[k] = e[k]! / s - (k === y ? 1 : 0);
      } else if (loss === 'margin') {
        let other = -1;
        for (let k = 0; k < c; k++) if (k !== y && (other < 0 || row[k]! > row[other]!)) other = k;
        lossOut[i] = row[other]! - row[y]!;
        dz[other] = 1;
        dz[y] = -1;
      } else if (loss === 'margin-targeted' && targets) {
        const t = Number(targets[i]);
        let other = -1;
        for (let k = 0; k < c; k++) if (k !== t && (other < 0 || row[k]! > row[other]!)) other = k;
        lossOut[i] = row[t]! - row[other]!;
        dz[t] = 1;
        dz[other] = -1;
      } else throw new GibbonError('invalid_option', `LinearModel supports 'ce', 'margin' and 'margin-targeted' (with targets), not '${loss}'`);
      for (let k = 0; k < c; k++) {
        if (dz[k] === 0) continue;
        for (let j = 0; j < d; j++) grad[i * d + j]! += dz[k]! * this.weights[k * d + j]!;
      }
    }
    return { loss: lossOut, grad: { data: grad, shape: [...x.shape] }, logits: z };
  }
}

/**
 * Two features in [0, 1], two classes split by x₀ + x₁ = 1 (class 1 above): an example's
 * distance to the boundary is |x₀ + x₁ − 1| / √2 in L2 and |x₀ + x₁ − 1| / 2 in L∞.
 */
export function diagonalModel(): LinearModel {
  return new LinearModel(Float32Array.from([-1, -1, 1, 1]), Float32Array.from([1, -1]), [2]);
}
