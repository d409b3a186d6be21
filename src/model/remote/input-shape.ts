/**
 * The input shape a black box is declared with (batch dimension first, null where dynamic) and the
 * check every query passes before it leaves the process: the right shape and finite values. A
 * black box cannot say what it expects, so the declaration is the contract.
 */
import { GibbonError } from '../../errors.js';

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
