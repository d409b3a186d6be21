/**
 * A stable argsort of non-negative float64 keys by LSD radix sort on their IEEE-754 bits (for
 * non-negative doubles the bit patterns, read as unsigned integers, are in the order of the values).
 * It gives exactly the order of `indices.sort((p, q) => keys[p] − keys[q])` (stable: equal keys keep
 * their order; −0 counts as 0) at a fraction of the cost of a JavaScript comparator, which matters in
 * attack loops that sort hundreds of breakpoints per example and step (FAB's projection).
 */

/** Working buffers of argsortNonNegative, reusable across calls of up to `capacity` keys (saves the allocations in hot loops). */
export interface ArgsortScratch {
  readonly capacity: number;
  readonly bits: Float64Array;
  readonly spare: Float64Array;
  readonly order: Uint32Array;
  readonly next: Uint32Array;
  readonly counts: Uint32Array;
}

export function argsortScratch(capacity: number): ArgsortScratch {
  const bits = new Float64Array(capacity);
  const spare = new Float64Array(capacity);
  return { capacity, bits, spare, order: new Uint32Array(capacity), next: new Uint32Array(capacity), counts: new Uint32Array(256) };
}

/** Sorts `indices` (its first `count` entries) by `keys[index]`, in place; every key must be ≥ 0 or −0, and not NaN. */
export function argsortNonNegative(indices: Uint32Array, count: number, keys: Float64Array, scratch?: ArgsortScratch): void {
  if (count < 2) return;
  const work = scratch && scratch.capacity >= count ? scratch : argsortScratch(count);
  // The keys in sort order's working copy, as 32-bit words (little-endian: word 2i is the low half of key i).
  let [bits, spare, order, next] = [work.bits, work.spare, work.order, work.next];
  for (let i = 0; i < count; i++) {
    order[i] = indices[i]!;
    bits[i] = keys[order[i]!]! + 0; // −0 + 0 = +0
  }
  // The bits that differ between keys (OR of each key XOR the first): a byte without any is the same digit in every
  // key, so its pass would move nothing and is skipped without counting (float32 values widened to float64, as FAB's
  // L∞ breakpoints, leave the low 29 bits zero).
  const words0 = new Uint32Array(bits.buffer, 0, 2 * count);
  const [first0, first1] = [words0[0]!, words0[1]!];
  let differ0 = 0;
  let differ1 = 0;
  for (let i = 1; i < count; i++) {
    differ0 |= words0[2 * i]! ^ first0;
    differ1 |= words0[2 * i + 1]! ^ first1;
  }
  const counts = work.counts;
  for (let pass = 0; pass < 8; pass++) {
    const word = pass < 4 ? 0 : 1;
    const shift = (pass % 4) * 8;
    if ((((word === 0 ? differ0 : differ1) >>> shift) & 255) === 0) continue;
    const words = new Uint32Array(bits.buffer, 0, 2 * count);
    counts.fill(0);
    for (let i = 0; i < count; i++) counts[(words[2 * i + word]! >>> shift) & 255]!++;
    for (let d = 0, sum = 0; d < 256; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < count; i++) {
      const at = counts[(words[2 * i + word]! >>> shift) & 255]!++;
      next[at] = order[i]!;
      spare[at] = bits[i]!;
    }
    [order, next] = [next, order];
    [bits, spare] = [spare, bits];
  }
  indices.set(order.subarray(0, count));
}
