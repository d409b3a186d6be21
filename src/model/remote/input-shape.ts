/**
 * The input shape a black box is declared with (batch dimension first, null where dynamic) and the
 * check every query passes before it leaves the process: the right shape and finite values. A
 * black box cannot say what it expects, so the declaration is the contract.
 */
import { GibbonError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Checks a declared input shape: batch first (null or a number), then positive integer dimensions. */
export function checkInputShape(shape: readonly (number | null)[] | undefined, option: string): readonly (number | null)[] {
  const valid = Array.isArray(shape) && shape.length >= 2 && shape.slice(1).every((d) => Number.isInteger(d) && (d as number) > 0);
  if (!valid) {
    throw new GibbonError(
      'invalid_option',
      `${option} must be the input shape with the batch dimension first and every other dimension known, e.g. [null, 1, 28, 28]; got ${JSON.stringify(shape) ?? 'nothing'}`,
      { option },
    );
  }
  return Object.freeze([null, ...(shape.slice(1) as number[])]);
}

/** Checks that x is (N, …example shape) with finite values; names expected and found shapes. */
export function checkExamples(x: Tensor, inputShape: readonly (number | null)[], what = 'x'): void {
  const expected = inputShape.slice(1);
  const got = x.shape.slice(1);
  if (x.shape.length !== inputShape.length || expected.some((d, i) => d !== null && d !== got[i])) {
    throw new GibbonError('invalid_input', `${what} has shape [${x.shape.join(', ')}] but the model expects [N, ${expected.map((d) => d ?? '?').join(', ')}]`, {
      option: what,
    });
  }
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i]!)) {
      throw new GibbonError('invalid_input', `${what} contains ${Number.isNaN(x.data[i]!) ? 'NaN' : 'Inf'} at flat index ${i}`, { option: what });
    }
  }
}
