/** The one check of a batch of examples against a model's input shape, for every kind of model. */
import { GibbonError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

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
