/** Where a sharded evaluation's queue lives (a PostgreSQL URL, a queue name, a schema), checked before any connection. */
import { GibbonError } from '../../errors.js';

/** Where the queue lives: the database URL, the queue's name and the schema of gibbon's tables. */
export interface QueueAddress {
  readonly url: string;
  /** The pg-boss queue (several evaluations may share a database, one queue each at a time). */
  readonly queue: string;
  /** Schema of gibbon's tables; pg-boss's go to `<schema>_boss`. */
  readonly schema: string;
  /** The CLI option that gave the URL, for messages (default --queue). */
  readonly option?: string;
}

export const DEFAULT_QUEUE = 'gibbon-eval';
export const DEFAULT_SCHEMA = 'gibbon_shard';
const NAME = /^[a-z_][a-z0-9_]{0,40}$/;
const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,60}$/;

/** postgres://user@host:port/db, never the password. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(an unparsable URL)';
  }
}

/** Checks the address before any connection: a postgres URL, sane names. */
export function checkAddress(address: QueueAddress): void {
  const option = address.option ?? '--queue';
  let u: URL;
  try {
    u = new URL(address.url);
  } catch {
    throw new GibbonError('invalid_option', `'${shownUrl(address.url)}' is not a URL; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE`, { option });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new GibbonError('invalid_option', `the queue must be a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE), not ${u.protocol}//…`, {
      option,
    });
  }
  if (!NAME.test(address.schema)) {
    throw new GibbonError('invalid_option', `schema name '${address.schema}' must be lower-case letters, digits and _ (at most 41)`, {
      option: '--queue-schema',
    });
  }
  if (!QUEUE_NAME.test(address.queue)) {
    throw new GibbonError('invalid_option', `queue name '${address.queue}' must be letters, digits, '_', '.' or '-' (at most 60)`, { option: '--queue-name' });
  }
}
