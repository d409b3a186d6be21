/**
 * Stateful detection of query attacks (Chen, Carlini & Wagner 2020, "Stateful detection of
 * black-box adversarial attacks", arXiv:1907.05587): a query-based attacker asks many queries that
 * are near one another (Square's small square updates, HopSkipJump's boundary probes, NES's
 * Gaussian samples around one point); benign clients rarely do. Per client, the detector keeps the
 * encodings of its recent queries and scores each new query by the mean distance to its k nearest
 * earlier ones; below the threshold, the query is flagged.
 *
 * The encoding here is not learned (the paper trains a similarity encoder): the query is average-pooled
 * to at most side × side per channel, which keeps the coarse picture and averages out the
 * fine-grained noise attacks add, and distances are root-mean-square over the encoding, so the
 * threshold does not depend on the image size. `calibrateThreshold` sets it from benign queries at a target
 * false-positive rate. Memory per client is window × dims floats; clients are evicted least recently used.
 */
import type { Tensor } from '../tensor/tensor.js';

export interface StatefulOptions {
  readonly k: number;
  readonly threshold: number;
  /** Most recent queries kept per client. */
  readonly window: number;
  readonly encodingSide: number;
  /** Most clients tracked at once (least recently seen evicted first); memory is at most maxClients × window × dims × 4 bytes. Default 1000. */
  readonly maxClients?: number;
}

/** Average pooling of one CHW (or any-shape) example to at most side × side per channel. */
export function encodeQuery(x: Float32Array, exampleShape: readonly number[], side: number): Float32Array {
  const [c, h, w] =
    exampleShape.length >= 3 ? [exampleShape.slice(0, -2).reduce((a, b) => a * b, 1), exampleShape.at(-2)!, exampleShape.at(-1)!] : [1, 1, x.length];
  const oh = Math.min(side, h);
  const ow = Math.min(side * (h === 1 ? side : 1), w);
  const out = new Float32Array(c * oh * ow);
  const counts = new Float32Array(oh * ow);
  for (let y = 0; y < h; y++) {
    const by = Math.floor((y * oh) / h);
    for (let xx = 0; xx < w; xx++) {
      const bx = Math.floor((xx * ow) / w);
      counts[by * ow + bx]! += 1;
      for (let ch = 0; ch < c; ch++) out[ch * oh * ow + by * ow + bx]! += x[ch * h * w + y * w + xx]!;
    }
  }
  for (let i = 0; i < out.length; i++) out[i]! /= counts[i % (oh * ow)]!;
  return out;
}

/** Mean of the k smallest values of `d` (fewer when fewer are given). */
function meanOfSmallest(d: Float32Array, count: number, k: number): number {
  const take = Math.min(k, count);
  const best = new Float32Array(take).fill(Infinity);
  for (let i = 0; i < count; i++) {
    const v = d[i]!;
    if (v >= best[take - 1]!) continue;
    let j = take - 1;
    while (j > 0 && best[j - 1]! > v) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = v;
  }
  let s = 0;
  for (let i = 0; i < take; i++) s += best[i]!;
  return s / take;
}

class ClientHistory {
  /** Grown as queries arrive (doubling, up to window × dims), so a client with few queries costs little. */
  rows: Float32Array;
  count = 0;
  next = 0;
  queries = 0;
  /** Query number (1-based) of the client's first flag, 0 if none yet. */
  firstFlag = 0;
  flags = 0;

  constructor(
    readonly window: number,
    readonly dims: number,
  ) {
    this.rows = new Float32Array(Math.min(window, 16) * dims);
  }

  /** Mean distance to the k nearest kept queries (Infinity until k are kept), then keeps e. */
  score(e: Float32Array, k: number, scratch: Float32Array): number {
    const { dims } = this;
    for (let r = 0; r < this.count; r++) {
      let s = 0;
      const o = r * dims;
      for (let i = 0; i < dims; i++) {
        const d = e[i]! - this.rows[o + i]!;
        s += d * d;
      }
      scratch[r] = Math.sqrt(s / dims);
    }
    const score = this.count >= k ? meanOfSmallest(scratch, this.count, k) : Infinity;
    if ((this.next + 1) * dims > this.rows.length) {
      const grown = new Float32Array(Math.min(this.window, 2 * (this.rows.length / dims)) * dims);
      grown.set(this.rows);
      this.rows = grown;
    }
    this.rows.set(e, this.next * dims);
    this.next = (this.next + 1) % this.window;
    this.count = Math.min(this.count + 1, this.window);
    this.queries++;
    return score;
  }
}

export interface StatefulScore {
  /** Mean distance to the k nearest earlier queries of this client (Infinity before k queries). */
  readonly distance: number;
  readonly flagged: boolean;
}

export class StatefulDetector {
  private readonly clients = new Map<string, ClientHistory>();
  private scratch = new Float32Array(0);

  constructor(
    readonly options: StatefulOptions,
    readonly exampleShape: readonly number[],
  ) {}

  /** Scores each example of x as the next query of `client`, in order, and remembers it. */
  observe(client: string, x: Tensor): StatefulScore[] {
    const per = x.data.length / x.shape[0]!;
    const out: StatefulScore[] = [];
    for (let r = 0; r < x.shape[0]!; r++) {
      const e = encodeQuery(x.data.subarray(r * per, (r + 1) * per), this.exampleShape, this.options.encodingSide);
      const h = this.history(client, e.length);
      if (this.scratch.length < h.window) this.scratch = new Float32Array(h.window);
      const distance = h.score(e, this.options.k, this.scratch);
      const flagged = distance < this.options.threshold;
      if (flagged) {
        h.flags++;
        if (h.firstFlag === 0) h.firstFlag = h.queries;
      }
      out.push({ distance, flagged });
    }
    return out;
  }

  private history(client: string, dims: number): ClientHistory {
    let h = this.clients.get(client);
    if (h) {
      // Map order is insertion order: re-inserting marks the client as most recently seen.
      this.clients.delete(client);
    } else {
      h = new ClientHistory(this.options.window, dims);
      const max = this.options.maxClients ?? 1000;
      if (this.clients.size >= max) this.clients.delete(this.clients.keys().next().value!);
    }
    this.clients.set(client, h);
    return h;
  }

  /** A client's counts: queries seen, flags, and the query number of its first flag (0: none). */
  clientStats(client: string): { queries: number; flags: number; firstFlag: number } | undefined {
    const h = this.clients.get(client);
    return h && { queries: h.queries, flags: h.flags, firstFlag: h.firstFlag };
  }
}

/**
 * The threshold at which a fraction `fpr` of benign queries would be flagged: each benign stream
 * (one client's clean queries, in order) is run through a fresh detector and the `fpr` quantile of
 * the scores after k queries is returned.
 */
export function calibrateThreshold(
  streams: readonly Tensor[],
  exampleShape: readonly number[],
  options: Omit<StatefulOptions, 'threshold'>,
  fpr: number,
): number {
  const detector = new StatefulDetector({ ...options, threshold: 0 }, exampleShape);
  const scores: number[] = [];
  streams.forEach((x, i) => {
    for (const s of detector.observe(`calibration-${i}`, x)) if (Number.isFinite(s.distance)) scores.push(s.distance);
  });
  scores.sort((a, b) => a - b);
  if (scores.length === 0) return 0;
  return scores[Math.min(scores.length - 1, Math.floor(fpr * scores.length))]!;
}
