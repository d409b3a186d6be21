/**
 * The only source of randomness in gibbon: a small seeded generator (xoshiro128**, Blackman &
 * Vigna 2018, seeded through splitmix32) that is passed to whatever needs it. The same seed gives
 * the same stream on every platform, because everything is 32-bit integer arithmetic.
 *
 * `Rng.derive(seed, ...keys)` makes an independent stream for a named part of a run (a batch, an
 * attack, an ε) so that results do not depend on the order in which the parts run — a resumed
 * evaluation draws exactly what an uninterrupted one would.
 */
import { GibbonError } from './errors.js';

/** splitmix32 step: a good 32-bit mixer, used for seeding and key hashing. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function hashKey(h: number, key: string | number): number {
  const text = typeof key === 'number' ? `#${key}` : key;
  for (let i = 0; i < text.length; i++) h = mix32(h ^ text.charCodeAt(i));
  return mix32(h ^ text.length);
}

/** A 32-bit seed for the part of a run named by `keys` (e.g. `deriveSeed(seed, 'pgd', 0.3, batch)`). */
export function deriveSeed(seed: number, ...keys: readonly (string | number)[]): number {
  let h = mix32(seed >>> 0);
  for (const k of keys) h = hashKey(h, k);
  return h;
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new GibbonError('invalid_option', `seed must be an integer in [0, 4294967295]; got ${seed}`, { option: 'seed' });
  }
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Second normal deviate of the last Box–Muller pair. */
  private spare: number | undefined;

  constructor(readonly seed: number) {
    checkSeed(seed);
    let h = seed >>> 0;
    h = mix32(h);
    this.s0 = h;
    h = mix32(h);
    this.s1 = h;
    h = mix32(h);
    this.s2 = h;
    h = mix32(h);
    this.s3 = h;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** An independent generator for a named part of the work, decided by this generator's seed only. */
  static derive(seed: number, ...keys: readonly (string | number)[]): Rng {
    checkSeed(seed);
    return new Rng(deriveSeed(seed, ...keys));
  }

  /** A child generator seeded from this one's seed and `keys` (does not advance this one). */
  fork(...keys: readonly (string | number)[]): Rng {
    return Rng.derive(this.seed, ...keys);
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniformIn(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n), without modulo bias. */
  integer(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) {
      throw new GibbonError('invalid_option', `integer(n) needs an integer 1 ≤ n ≤ 2^32; got ${n}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    let v = this.nextUint32();
    while (v >= limit) v = this.nextUint32();
    return v % n;
  }

  /** Fills `out` with uniform values in [low, high). */
  fillUniform(out: Float32Array, low = 0, high = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  /** Fills `out` with standard normal values. */
  fillNormal(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }

  /** A uniformly random permutation of 0…n−1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.integer(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
