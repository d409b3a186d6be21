/**
 * The adaptive attack's quantised stage against a detector with one quantising squeezer (bit depth
 * b: L = 2^b levels; quantize: L levels), which computes Round(x·k)/k with k = L − 1. BPDA's
 * identity at Round moves the squeezed copy as if every feature could change its level, but inside
 * the L∞ ε-ball only features near a level boundary can (1 bit, ε 0.3 on MNIST: about 45 of 784
 * pixels). So the stage searches the squeezed image directly: a greedy search over the levels the
 * ε-ball can reach, each step taking the single move that most raises the C&W margin of the
 * classifier on the level image (exact forward passes, no gradient). `pinnedCells` then confines
 * each feature to the ε-ball ∩ bounds ∩ the cell that rounds to its chosen level, for a gradient
 * attack with Round's true (zero) gradient, exact while the levels stay pinned
 * (adaptive-attack.ts, adaptive-oracle.ts).
 */
import type { Bounds } from '../../model/bounds.js';
import { rowSize } from '../../tensor/rows.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { PinnedCells } from './adaptive-oracle.js';
import type { EquippedModel } from './equipped-model.js';

/** Keeps a rounded level strictly inside its cell: Round is half-to-even at the boundary. */
const CELL_MARGIN = 1e-3;

function marginOf(logits: Float32Array, i: number, c: number, y: number): number {
  let other = -Infinity;
  for (let j = 0; j < c; j++) if (j !== y) other = Math.max(other, logits[i * c + j]!);
  return other - logits[i * c + y]!;
}

/** The level range [lo, hi] (level indices) that a feature can round to inside [x0 − ε, x0 + ε] ∩ bounds. */
function reachableLevels(x0: number, eps: number, k: number, bounds: Bounds): [number, number] {
  const low = Math.max(bounds.lower, x0 - eps);
  const high = Math.min(bounds.upper, x0 + eps);
  return [Math.ceil(low * k - 0.5 + CELL_MARGIN), Math.floor(high * k + 0.5 - CELL_MARGIN)];
}

export interface LevelSearchResult {
  /** Level index per feature (n × features). */
  readonly chosen: Int32Array;
  /** The classifier's margin on the chosen level image, per example. */
  readonly margin: Float32Array;
  /** Forward passes made (rows). */
  readonly queries: number;
}

/**
 * Greedy search over reachable level images, from the levels of each start: per step and example,
 * every single-feature move to an adjacent reachable level is scored by the margin on the level
 * image (one batched forward pass), and the best move is taken while it raises the margin. The
 * best result over the starts is kept per example.
 */
export async function searchLevels(
  model: EquippedModel,
  x0: Tensor,
  starts: readonly Tensor[],
  labels: Int32Array,
  eps: number,
  levels: number,
  bounds: Bounds,
): Promise<LevelSearchResult> {
  const n = x0.shape[0]!;
  const row = rowSize(x0);
  const c = model.numClasses;
  const k = levels - 1;
  const lo = new Int32Array(n * row);
  const hi = new Int32Array(n * row);
  for (let j = 0; j < n * row; j++) [lo[j], hi[j]] = reachableLevels(x0.data[j]!, eps, k, bounds);
  const chosen = new Int32Array(n * row);
  const bestMargin = new Float32Array(n).fill(-Infinity);
  let queries = 0;
  const image = (lv: Int32Array, i: number, out: Float32Array, at: number): void => {
    for (let j = 0; j < row; j++) out[at + j] = lv[i * row + j]! / k;
  };
  for (const start of starts) {
    const current = new Int32Array(n * row);
    for (let j = 0; j < n * row; j++) current[j] = Math.min(hi[j]!, Math.max(lo[j]!, Math.round(start.data[j]! * k)));
    const free: number[][] = [];
    for (let i = 0; i < n; i++) {
      const f: number[] = [];
      for (let j = 0; j < row; j++) if (hi[i * row + j]! > lo[i * row + j]!) f.push(j);
      free.push(f);
    }
    const first = new Float32Array(n * row);
    for (let i = 0; i < n; i++) image(current, i, first, i * row);
    const r0 = await model.run({ data: first, shape: [...x0.shape] });
    queries += n;
    const margin = Float32Array.from({ length: n }, (_, i) => marginOf(r0.logits.data, i, c, labels[i]!));
    let active = Array.from({ length: n }, (_, i) => i).filter((i) => free[i]!.length > 0);
    while (active.length > 0) {
      // Moves: (example, feature, new level); up to two per free feature.
      const moves: [number, number, number][] = [];
      for (const i of active) {
        for (const j of free[i]!) {
          const v = current[i * row + j]!;
          if (v + 1 <= hi[i * row + j]!) moves.push([i, j, v + 1]);
          if (v - 1 >= lo[i * row + j]!) moves.push([i, j, v - 1]);
        }
      }
      const batch = new Float32Array(moves.length * row);
      moves.forEach(([i, j, v], m) => {
        image(current, i, batch, m * row);
        batch[m * row + j] = v / k;
      });
      const r = await model.run({ data: batch, shape: [moves.length, ...x0.shape.slice(1)] });
      queries += moves.length;
      const best = new Map<number, [number, number]>();
      moves.forEach(([i], m) => {
        const g = marginOf(r.logits.data, m, c, labels[i]!);
        if (g > margin[i]! && g > (best.get(i)?.[1] ?? -Infinity)) best.set(i, [m, g]);
      });
      for (const [i, [m, g]] of best) {
        const [, j, v] = moves[m]!;
        current[i * row + j] = v;
        margin[i] = g;
      }
      active = active.filter((i) => best.has(i));
    }
    for (let i = 0; i < n; i++) {
      if (margin[i]! > bestMargin[i]!) {
        bestMargin[i] = margin[i]!;
        chosen.set(current.subarray(i * row, (i + 1) * row), i * row);
      }
    }
  }
  return { chosen, margin: bestMargin, queries };
}

/** Per feature: the L∞ ε-ball ∩ bounds ∩ the cell that rounds to its chosen level. */
export function pinnedCells(x0: Tensor, eps: number, bounds: Bounds, levels: number, chosen: Int32Array): PinnedCells {
  const k = levels - 1;
  const lower = new Float32Array(x0.data.length);
  const upper = new Float32Array(x0.data.length);
  for (let j = 0; j < lower.length; j++) {
    const v = chosen[j]!;
    lower[j] = Math.max(bounds.lower, x0.data[j]! - eps, (v - 0.5) / k + CELL_MARGIN);
    upper[j] = Math.min(bounds.upper, x0.data[j]! + eps, (v + 0.5) / k - CELL_MARGIN);
  }
  return { lower, upper };
}
