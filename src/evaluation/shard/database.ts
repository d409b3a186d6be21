/**
 * The PostgreSQL side of a sharded evaluation: one connection pool per process (pg), the job queue
 * on top of it (pg-boss 10, given this pool through its `db` option so that a job's completion can
 * join our own transaction), and gibbon's tables in their own schema:
 *
 * - `evaluations`: one row per evaluation (id = digest of its fingerprint: model, data, threat
 *   model, attacks, options), with the spec workers open it from, the unit plan and its state;
 * - `results`: one row per (evaluation, batch, ε, stage), the stage's record (checkpoint format)
 *   and the first adversarial examples it found (for the report's gallery).
 *
 * Connection failures become GibbonErrors that say which server and what went wrong, without the
 * password: unreachable, wrong credentials, no such database.
 */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { GibbonError } from '../../errors.js';
import { checkAddress, shownUrl, type QueueAddress } from './address.js';

export { DEFAULT_QUEUE, DEFAULT_SCHEMA, type QueueAddress } from './address.js';

export interface Connection {
  readonly pool: pg.Pool;
  readonly boss: PgBoss;
  readonly address: QueueAddress;
  /** The URL as shown in messages (no password). */
  readonly shown: string;
  close(): Promise<void>;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'EPIPE']);

/** Whether an error means the database could not be reached (worth waiting and retrying). */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (err?.code && UNREACHABLE.has(err.code)) return true;
  if (err?.code === '57P01' || err?.code === '57P02' || err?.code === '57P03' || err?.code === '08006' || err?.code === '08003') return true;
  const m = err?.message ?? '';
  return /timeout|terminated|Connection terminated|not queryable|connection ended|Client has encountered a connection error/i.test(m);
}

/** A GibbonError saying what connecting to the queue database ran into. */
export function connectionError(e: unknown, address: QueueAddress): GibbonError {
  const option = address.option ?? '--queue';
  const shown = shownUrl(address.url);
  const err = e as { code?: string; message?: string };
  const user = (() => {
    try {
      return decodeURIComponent(new URL(address.url).username) || '(default user)';
    } catch {
      return '(default user)';
    }
  })();
  if (err.code === '28P01' || err.code === '28000') {
    return new GibbonError(
      'invalid_option',
      `the queue database ${shown} refused the credentials of user '${user}' (${err.message}); check the user and password in the URL`,
      {
        option,
      },
    );
  }
  if (err.code === '3D000') return new GibbonError('invalid_option', `the queue database ${shown} does not exist (${err.message})`, { option });
  if (isConnectionError(e)) {
    return new GibbonError(
      'runtime_failure',
      `cannot reach the queue database ${shown} (${err.code ?? err.message}); is PostgreSQL running there and listening on that address and port?`,
      { option },
      { cause: e },
    );
  }
  return new GibbonError('runtime_failure', `the queue database ${shown} failed: ${err.message ?? String(e)}`, { option }, { cause: e });
}

export interface ConnectOptions {
  /** Name this process shows in pg_stat_activity. */
  readonly application: string;
  /** Give up connecting after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** A query (or a connection that went silent, e.g. a link that is down) fails after this long (default 60 s). */
  readonly queryTimeoutMs?: number;
}

/** Opens the pool, checks that the server answers (with a clear error when it does not) and starts pg-boss on it. */
export async function connect(address: QueueAddress, o: ConnectOptions): Promise<Connection> {
  checkAddress(address);
  const pool = new pg.Pool({
    connectionString: address.url,
    max: 4,
    application_name: o.application.slice(0, 60),
    connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000,
    query_timeout: o.queryTimeoutMs ?? 60_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw connectionError(e, address);
  }
  const boss = new PgBoss({
    db: { executeSql: (text: string, values: unknown[]) => pool.query(text, values) },
    schema: `${address.schema}_boss`,
    supervise: false,
    schedule: false,
    migrate: true,
  });
  boss.on('error', () => undefined);
  try {
    await ensureSchema(pool, address.schema);
    await startSerialised(pool, boss, address.schema);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw connectionError(e, address);
  }
  return {
    pool,
    boss,
    address,
    shown: shownUrl(address.url),
    close: async () => {
      await boss.stop({ graceful: false, close: false, wait: true }).catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}

/** Creates gibbon's tables once (an advisory lock keeps concurrent first starts from racing). */
async function ensureSchema(pool: pg.Pool, schema: string): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gibbon-shard-schema:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.evaluations (
      id text PRIMARY KEY,
      queue text NOT NULL,
      spec json NOT NULL,
      fingerprint json NOT NULL,
      plan json NOT NULL,
      state text NOT NULL,
      error text,
      created timestamptz NOT NULL DEFAULT now(),
      updated timestamptz NOT NULL DEFAULT now())`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.results (
      evaluation text NOT NULL REFERENCES ${schema}.evaluations (id) ON DELETE CASCADE,
      batch integer NOT NULL,
      eps integer NOT NULL,
      stage integer NOT NULL,
      record json NOT NULL,
      point_indices integer[] NOT NULL,
      points bytea NOT NULL,
      worker text NOT NULL,
      committed timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (evaluation, batch, eps, stage))`);
  });
}

/**
 * Starts pg-boss while holding a session lock: its first start creates its schema, and processes
 * starting together (a coordinator and its workers) would otherwise race to create it.
 */
async function startSerialised(pool: pg.Pool, boss: PgBoss, schema: string): Promise<void> {
  const client = await pool.connect();
  const ignore = (): void => undefined;
  client.on('error', ignore);
  const key = `gibbon-shard-boss:${schema}`;
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    try {
      await boss.start();
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
    }
  } catch (e) {
    broken = e as Error;
    throw e;
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
}

/** Runs `body` in one transaction on one client; pg-boss calls made with `db` join it. */
export async function inTransaction<T>(pool: pg.Pool, body: (client: pg.PoolClient, db: PgBoss.Db) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection that breaks while the client is checked out is reported by the failing query; the
  // client's own 'error' event must not crash the process.
  const ignore = (): void => undefined;
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await body(client, { executeSql: (text, values) => client.query(text, values) });
    await client.query('COMMIT');
    return result;
  } catch (e) {
    broken = e as Error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.off('error', ignore);
    // A client whose transaction failed is dropped, not reused: its connection may be dead.
    client.release(broken);
  }
}
