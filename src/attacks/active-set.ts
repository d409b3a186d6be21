/**
 * The examples an iterative attack is still working on: a subset of the attacked batch that
 * shrinks as examples become adversarial or run out of budget. It holds the examples' indices in
 * the batch and the per-example state the attack carries (tensors, one row per example, and
 * per-example arrays), all in the same order, and drops finished examples from every one of them
 * at once. Results go back to the whole batch by index: `BestSoFar.observe(set.examples, …)` or
 * `scatterRows(target, set.examples, rows)`.
 *
 * @example
 * ```ts
 * const set = new ActiveSet(best.remaining(), { x0, xk, labels, targets });
 * const r = await oracle.lossAndGrad(set.state.xk, set.state.labels, loss, set.state.targets, set.examples);
 * set.dropFlagged(best.observe(set.examples, set.state.xk, r.logits, r.loss, r.grad));
 * ```
 */
import { gatherRows, gatherValues } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';

/** One value per example. */
export type PerExample = Float32Array | Int32Array | Uint8Array;

/** The state carried per active example: row i of each entry belongs to `examples[i]`; undefined entries are skipped. */
export type ActiveState = { [key: string]: Tensor | PerExample | undefined };

function isTensor(value: Tensor | PerExample): value is Tensor {
  return 'shape' in value;
}

/** Positions (0…k−1) of the rows to keep: those not flagged. */
export function unflagged(flags: Uint8Array): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < flags.length; i++) if (!flags[i]) out.push(i);
  return Int32Array.from(out);
}

export class ActiveSet<S extends ActiveState> {
  /** Indices in the attacked batch of the examples still active. */
  examples: Int32Array;
  /** Per-example state; its entries are replaced (never resized in place) when examples are dropped. */
  readonly state: S;

  constructor(examples: Int32Array, state: S) {
    this.examples = examples;
    this.state = state;
  }

  get size(): number {
    return this.examples.length;
  }

  /** Keeps the rows at `positions` (increasing, each in 0…size−1) of the indices and of every state entry. */
  keep(positions: Int32Array): void {
    if (positions.length === this.examples.length) return;
    this.examples = gatherValues(this.examples, positions);
    const state = this.state as ActiveState;
    for (const key of Object.keys(state)) {
      const value = state[key];
      if (value !== undefined) state[key] = isTensor(value) ? gatherRows(value, positions) : gatherValues(value, positions);
    }
  }

  /** Drops the rows flagged 1 (e.g. adversarial, as `BestSoFar.observe` returns them); returns how many are left. */
  dropFlagged(flags: Uint8Array): number {
    this.keep(unflagged(flags));
    return this.size;
  }

  /** Keeps the examples for which `test(example, position)` holds; returns how many are left. */
  retain(test: (example: number, position: number) => boolean): number {
    const positions: number[] = [];
    this.examples.forEach((e, i) => {
      if (test(e, i)) positions.push(i);
    });
    this.keep(Int32Array.from(positions));
    return this.size;
  }
}
