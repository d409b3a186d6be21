/**
 * Per-example bookkeeping shared by the iterative attacks: the first adversarial point found for
 * each example (it stays the answer), otherwise the point with the highest loss; and the losses
 * and zero-gradient flags that gradient-masking checks read.
 */
import type { Criterion } from '../criteria/criterion.js';
import { cloneTensor, rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttackResult } from './attack.js';

export class BestSoFar {
  readonly success: Uint8Array;
  readonly best: Tensor;
  readonly bestLoss: Float32Array;
  readonly initialLoss: Float32Array;
  readonly zeroGradient: Uint8Array;
  private readonly row: number;
  private measuredGradient: Uint8Array;
  steps = 0;

  constructor(
    x0: Tensor,
    private readonly criterion: Criterion,
  ) {
    const n = x0.shape[0]!;
    this.success = new Uint8Array(n);
    this.best = cloneTensor(x0);
    this.bestLoss = new Float32Array(n).fill(-Infinity);
    this.initialLoss = new Float32Array(n).fill(NaN);
    this.zeroGradient = new Uint8Array(n);
    this.measuredGradient = new Uint8Array(n);
    this.row = rowSize(x0);
  }

  /** Indices of examples not yet adversarial. */
  remaining(): Int32Array {
    const out: number[] = [];
    for (let i = 0; i < this.success.length; i++) if (!this.success[i]) out.push(i);
    return Int32Array.from(out);
  }

  /**
   * Records points x (row i is example active[i]) with their logits and, if known, losses and
   * gradients. Returns 1 per row that is adversarial.
   */
  observe(active: ArrayLike<number>, x: Tensor, logits: Tensor, loss?: Float32Array, grad?: Tensor): Uint8Array {
    const c = logits.shape[1]!;
    const row = this.row;
    const adversarial = new Uint8Array(active.length);
    for (let i = 0; i < active.length; i++) {
      const e = active[i]!;
      const point = x.data.subarray(i * row, (i + 1) * row);
      if (loss) {
        if (Number.isNaN(this.initialLoss[e]!)) this.initialLoss[e] = loss[i]!;
        if (!this.success[e] && loss[i]! > this.bestLoss[e]!) this.best.data.set(point, e * row);
        if (loss[i]! > this.bestLoss[e]!) this.bestLoss[e] = loss[i]!;
      }
      if (grad && !this.measuredGradient[e]) {
        this.measuredGradient[e] = 1;
        let zero = 1;
        for (let j = i * row; j < (i + 1) * row; j++) if (grad.data[j] !== 0) zero = 0;
        this.zeroGradient[e] = zero;
      }
      if (this.criterion.isAdversarial(logits.data.subarray(i * c, (i + 1) * c), e)) {
        adversarial[i] = 1;
        if (!this.success[e]) {
          this.success[e] = 1;
          this.best.data.set(point, e * row);
        }
      }
    }
    return adversarial;
  }

  result(withLosses = true): AttackResult {
    return {
      adversarial: this.best,
      success: this.success,
      steps: this.steps,
      diagnostics: withLosses ? { initialLoss: this.initialLoss, bestLoss: this.bestLoss, zeroGradient: this.zeroGradient } : undefined,
    };
  }
}

/** x + step·direction, with a scalar or per-row step. */
export function addScaled(x: Tensor, direction: Tensor, step: number | Float32Array): Tensor {
  const out = new Float32Array(x.data.length);
  const row = rowSize(x);
  for (let i = 0; i < x.shape[0]!; i++) {
    const s = typeof step === 'number' ? step : step[i]!;
    for (let j = i * row; j < (i + 1) * row; j++) out[j] = x.data[j]! + s * direction.data[j]!;
  }
  return { data: out, shape: [...x.shape] };
}
