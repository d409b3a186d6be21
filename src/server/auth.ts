/**
 * Credentials of the guard: API keys for prediction (each with a client name, which is what logs,
 * metrics and the review queue show; never the key), one admin credential for the review API and
 * page, and a token-bucket rate limit per key. Keys are compared as SHA-256 digests in constant
 * time; they come from the environment, never from the command line (which `ps` shows).
 *
 *   GIBBON_GUARD_KEYS="alice:k3y-one,bob:k3y-two"   GIBBON_GUARD_ADMIN_KEY="…"
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GibbonError } from '../errors.js';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export class Credentials {
  private readonly keys: { readonly client: string; readonly digest: Buffer }[];
  private readonly admin: Buffer;

  constructor(keys: ReadonlyMap<string, string>, adminKey: string) {
    if (adminKey.length < 8) throw new GibbonError('invalid_option', 'the admin key must be at least 8 characters', { option: 'GIBBON_GUARD_ADMIN_KEY' });
    this.keys = [...keys].map(([client, key]) => ({ client, digest: digest(key) }));
    this.admin = digest(adminKey);
  }

  /** Reads GIBBON_GUARD_KEYS (client:key, comma-separated) and GIBBON_GUARD_ADMIN_KEY. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): Credentials {
    const admin = env['GIBBON_GUARD_ADMIN_KEY'];
    if (!admin)
      throw new GibbonError('invalid_option', 'GIBBON_GUARD_ADMIN_KEY is not set; the review API needs an admin key', { option: 'GIBBON_GUARD_ADMIN_KEY' });
    const keys = new Map<string, string>();
    for (const entry of (env['GIBBON_GUARD_KEYS'] ?? '').split(',').filter((e) => e.trim() !== '')) {
      const at = entry.indexOf(':');
      const client = entry.slice(0, at).trim();
      const key = entry.slice(at + 1).trim();
      if (at <= 0 || !/^[A-Za-z0-9_.-]{1,64}$/.test(client) || key.length < 8) {
        throw new GibbonError(
          'invalid_option',
          'GIBBON_GUARD_KEYS must be client:key pairs, comma-separated (client: letters, digits, _.-; key: at least 8 characters)',
          {
            option: 'GIBBON_GUARD_KEYS',
          },
        );
      }
      if (keys.has(client)) throw new GibbonError('invalid_option', `GIBBON_GUARD_KEYS names client '${client}' twice`, { option: 'GIBBON_GUARD_KEYS' });
      keys.set(client, key);
    }
    if (keys.size === 0)
      throw new GibbonError('invalid_option', 'GIBBON_GUARD_KEYS is not set; prediction needs at least one API key', { option: 'GIBBON_GUARD_KEYS' });
    return new Credentials(keys, admin);
  }

  /** The client whose key this is, or undefined. */
  client(key: string | undefined): string | undefined {
    if (!key) return undefined;
    const d = digest(key);
    let found: string | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.digest, d)) found = k.client;
    return found;
  }

  isAdmin(key: string | undefined): boolean {
    return key !== undefined && timingSafeEqual(this.admin, digest(key));
  }
}

/** The API key of a request: `x-api-key`, or `Authorization: Bearer KEY`. */
export function requestKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const key = headers['x-api-key'];
  if (typeof key === 'string') return key;
  const auth = headers['authorization'];
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  return undefined;
}

/** The admin key of a request: `Authorization: Bearer KEY`, or Basic auth (any user) for the browser page. */
export function adminKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const auth = headers['authorization'];
  if (typeof auth !== 'string') return undefined;
  if (auth.startsWith('Bearer ')) return auth.slice(7);
  if (auth.startsWith('Basic ')) {
    const text = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const at = text.indexOf(':');
    return at >= 0 ? text.slice(at + 1) : undefined;
  }
  return undefined;
}

/** Token buckets per client: `perSecond` refill, `burst` capacity. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(client: string): number {
    const t = this.now();
    const b = this.buckets.get(client) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.perSecond;
  }
}
