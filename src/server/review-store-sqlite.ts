/**
 * The review queue in SQLite (better-sqlite3), the embedded default: one file, WAL journal,
 * `synchronous = FULL` so that a committed insert survives a crash of the process and of the
 * machine. better-sqlite3 is synchronous; the queue's writes are single small rows, far shorter
 * than a model run.
 */
import Database from 'better-sqlite3';
import { GibbonError } from '../errors.js';
import { fromRow, reviewTableSql, StoreUnavailable, SUMMARY_COLUMNS, summaryFromRow, toRow } from './review-store.js';
import type { Decision, NewReviewItem, ReviewItem, ReviewQuery, ReviewStore, ReviewSummary, StoredRow } from './review-store.js';

const SCHEMA = reviewTableSql({ bytes: 'BLOB', time: 'INTEGER' });

export class SqliteReviewStore implements ReviewStore {
  private constructor(
    private readonly db: Database.Database,
    readonly description: string,
  ) {}

  static open(path: string): SqliteReviewStore {
    let db: Database.Database;
    try {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
    } catch (e) {
      throw new GibbonError('file_unwritable', `review database ${path} cannot be opened: ${(e as Error).message}`, { path, option: 'db' }, { cause: e });
    }
    return new SqliteReviewStore(db, `sqlite:${path}`);
  }

  private run<T>(what: () => T): T {
    try {
      return what();
    } catch (e) {
      throw new StoreUnavailable(`review database ${this.description}: ${(e as Error).message}`, { cause: e });
    }
  }

  enqueue(item: NewReviewItem): Promise<boolean> {
    const r = this.run(() =>
      this.db
        .prepare(
          'INSERT INTO review_items (id, client, input, shape, answer, logits, scores, reasons, verdict, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        )
        .run(...toRow(item)),
    );
    return Promise.resolve(r.changes === 1);
  }

  list(query: ReviewQuery): Promise<ReviewSummary[]> {
    const where = query.status ? 'WHERE status = ?' : '';
    const args: unknown[] = query.status ? [query.status, query.limit, query.offset] : [query.limit, query.offset];
    const rows = this.run(() => this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM review_items ${where} ORDER BY created_at, id LIMIT ? OFFSET ?`).all(...args));
    return Promise.resolve((rows as StoredRow[]).map(summaryFromRow));
  }

  get(id: string): Promise<ReviewItem | undefined> {
    const row = this.run(() => this.db.prepare('SELECT * FROM review_items WHERE id = ?').get(id)) as StoredRow | undefined;
    return Promise.resolve(row && fromRow(row));
  }

  decide(id: string, decision: Decision, label: number | undefined, at: number): Promise<ReviewItem | undefined> {
    this.run(() =>
      this.db.prepare("UPDATE review_items SET status = 'reviewed', decision = ?, label = ?, decided_at = ? WHERE id = ?").run(decision, label ?? null, at, id),
    );
    return this.get(id);
  }

  counts(): Promise<{ pending: number; reviewed: number }> {
    const rows = this.run(() => this.db.prepare('SELECT status, COUNT(*) AS n FROM review_items GROUP BY status').all()) as { status: string; n: number }[];
    const n = (s: string): number => rows.find((r) => r.status === s)?.n ?? 0;
    return Promise.resolve({ pending: n('pending'), reviewed: n('reviewed') });
  }

  reviewed(): Promise<ReviewItem[]> {
    const rows = this.run(() => this.db.prepare("SELECT * FROM review_items WHERE status = 'reviewed' ORDER BY created_at, id").all()) as StoredRow[];
    return Promise.resolve(rows.map(fromRow));
  }

  ping(): Promise<void> {
    this.run(() => this.db.prepare('SELECT 1').get());
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
