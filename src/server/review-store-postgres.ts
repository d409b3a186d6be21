/**
 * The review queue in PostgreSQL (pg). An insert is acknowledged by the server after its commit
 * (PostgreSQL's default synchronous_commit), so an enqueued item is durable; `ON CONFLICT DO
 * NOTHING` keeps enqueue idempotent. Connection failures become `StoreUnavailable` (503 while the
 * database is down); the pool reconnects on its own when it is back.
 */
import pg from 'pg';
import { fromRow, reviewTableSql, StoreUnavailable, SUMMARY_COLUMNS, summaryFromRow, toRow } from './review-store.js';
import type { Decision, NewReviewItem, ReviewItem, ReviewQuery, ReviewStore, ReviewSummary, StoredRow } from './review-store.js';

const SCHEMA = reviewTableSql({ bytes: 'BYTEA', time: 'BIGINT' });

/** The URL without its password, for logs and messages. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export class PostgresReviewStore implements ReviewStore {
  private constructor(
    private readonly pool: pg.Pool,
    readonly description: string,
  ) {}

  static async open(url: string): Promise<PostgresReviewStore> {
    const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 2000, idleTimeoutMillis: 10_000 });
    // An idle client losing its connection must not crash the server.
    pool.on('error', () => {});
    const store = new PostgresReviewStore(pool, redactedUrl(url));
    await store.query(SCHEMA, []);
    return store;
  }

  private async query(text: string, values: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(text, values);
    } catch (e) {
      throw new StoreUnavailable(`review database ${this.description}: ${(e as Error).message}`, { cause: e });
    }
  }

  async enqueue(item: NewReviewItem): Promise<boolean> {
    const r = await this.query(
      'INSERT INTO review_items (id, client, input, shape, answer, logits, scores, reasons, verdict, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING',
      toRow(item),
    );
    return r.rowCount === 1;
  }

  async list(query: ReviewQuery): Promise<ReviewSummary[]> {
    const r = query.status
      ? await this.query(`SELECT ${SUMMARY_COLUMNS} FROM review_items WHERE status = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3`, [
          query.status,
          query.limit,
          query.offset,
        ])
      : await this.query(`SELECT ${SUMMARY_COLUMNS} FROM review_items ORDER BY created_at, id LIMIT $1 OFFSET $2`, [query.limit, query.offset]);
    return (r.rows as StoredRow[]).map(summaryFromRow);
  }

  async get(id: string): Promise<ReviewItem | undefined> {
    const r = await this.query('SELECT * FROM review_items WHERE id = $1', [id]);
    return r.rows[0] ? fromRow(r.rows[0] as StoredRow) : undefined;
  }

  async decide(id: string, decision: Decision, label: number | undefined, at: number): Promise<ReviewItem | undefined> {
    await this.query("UPDATE review_items SET status = 'reviewed', decision = $1, label = $2, decided_at = $3 WHERE id = $4", [
      decision,
      label ?? null,
      at,
      id,
    ]);
    return this.get(id);
  }

  async counts(): Promise<{ pending: number; reviewed: number }> {
    const r = await this.query('SELECT status, COUNT(*)::int AS n FROM review_items GROUP BY status', []);
    const n = (s: string): number => (r.rows as { status: string; n: number }[]).find((x) => x.status === s)?.n ?? 0;
    return { pending: n('pending'), reviewed: n('reviewed') };
  }

  async reviewed(): Promise<ReviewItem[]> {
    const r = await this.query("SELECT * FROM review_items WHERE status = 'reviewed' ORDER BY created_at, id", []);
    return (r.rows as StoredRow[]).map(fromRow);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', []);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
