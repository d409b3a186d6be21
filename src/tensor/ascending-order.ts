/**
 * Indices taken one at a time in ascending order of their keys, ties in the order they were given —
 * the order a stable sort would give — but lazily: a binary min-heap costs O(m) to build and O(log m)
 * per index taken. A walk that stops after the first few of many (FAB's projection visits a median third
 * of its breakpoints, most of them ties at zero) skips sorting the rest. The buffers are kept between
 * uses, so an attack's loop allocates nothing.
 */
export class AscendingOrder {
  private items = new Uint32Array(0);
  private keys = new Float64Array(0);
  /** Heap of positions into `items`/`keys`: a parent comes before its children. */
  private heap = new Uint32Array(0);
  private size = 0;

  /** Starts over with `items[0..count)` keyed by `keys[item]` (no NaN keys; −0 ties with 0). */
  reset(items: Uint32Array, count: number, keys: Float64Array): void {
    if (this.heap.length < count) {
      this.items = new Uint32Array(count);
      this.keys = new Float64Array(count);
      this.heap = new Uint32Array(count);
    }
    for (let p = 0; p < count; p++) {
      this.items[p] = items[p]!;
      this.keys[p] = keys[items[p]!]!;
      this.heap[p] = p;
    }
    this.size = count;
    for (let at = (count >> 1) - 1; at >= 0; at--) this.siftDown(at);
  }

  /** The next index in ascending order of keys, or −1 when all were taken. */
  next(): number {
    if (this.size === 0) return -1;
    const top = this.heap[0]!;
    this.size--;
    if (this.size > 0) {
      this.heap[0] = this.heap[this.size]!;
      this.siftDown(0);
    }
    return this.items[top]!;
  }

  /** Position a before position b: a smaller key, or an equal one given earlier. */
  private before(a: number, b: number): boolean {
    const [ka, kb] = [this.keys[a]!, this.keys[b]!];
    return ka < kb || (ka === kb && a < b);
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const moving = heap[start]!;
    let at = start;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.before(heap[child + 1]!, heap[child]!)) child++;
      if (!this.before(heap[child]!, moving)) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = moving;
  }
}
