/** Checks shared by the attack tests. */
import assert from 'node:assert/strict';
import type { Norm } from '../../norms/norm.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { AttackOutcome } from '../attack.js';

/** Fraction of examples the attack did not flip. */
export function robustAccuracy(outcome: AttackOutcome): number {
  return 1 - outcome.success.reduce((a, b) => a + b, 0) / outcome.success.length;
}

/** Every example (clipped, and raw when `raw`) is within ε of x and inside [0, 1]. */
export function assertWithinBudget(outcome: AttackOutcome, x: Tensor, norm: Norm, { raw = true } = {}): void {
  const eps = outcome.eps;
  for (const [what, t] of raw
    ? ([
        ['clipped', outcome.clipped],
        ['raw', outcome.raw],
      ] as const)
    : ([['clipped', outcome.clipped]] as const)) {
    const d = norm.distance(t, x);
    for (let i = 0; i < d.length; i++) assert.ok(d[i]! <= eps, `${what} example ${i}: ${norm.name} distance ${d[i]} > ε = ${eps}`);
    for (let j = 0; j < t.data.length; j++) assert.ok(t.data[j]! >= 0 && t.data[j]! <= 1, `${what} value ${t.data[j]} at ${j} outside [0, 1]`);
  }
}

/** Mean of `norms` over the examples the attack flipped (not counting those adversarial at x). */
export function meanNormOfSuccesses(outcome: AttackOutcome): number {
  let sum = 0;
  let k = 0;
  for (let i = 0; i < outcome.success.length; i++) {
    if (outcome.success[i] && !outcome.cleanSuccess[i]) {
      sum += outcome.norms[i]!;
      k++;
    }
  }
  return k ? sum / k : NaN;
}
