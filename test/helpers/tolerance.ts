/** How far a computed array is from a reference one, in units of the tolerance the reference tests use. */
import assert from 'node:assert/strict';

/** max over entries of |a − r| / (absTol·max|r| + relTol·|r|); ≤ 1 passes. */
export function worstRatio(actual: ArrayLike<number>, ref: ArrayLike<number>, absTol: number, relTol: number): number {
  assert.equal(actual.length, ref.length);
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const bound = absTol * maxRef + relTol * Math.abs(ref[i]!) + 1e-30;
    worst = Math.max(worst, Math.abs(actual[i]! - ref[i]!) / bound);
  }
  return worst;
}
