/**
 * The review queue: flagged inputs with their scores, the model's answer, the client and the time,
 * behind one interface with two implementations (review-store-sqlite.ts, the embedded default, and
 * review-store-postgres.ts). `enqueue` returns only once the item is durable (committed), so an
 * answer the guard acknowledged is never lost, and it is idempotent: the item's id is derived from
 * the client, the request and the row, and a second enqueue of the same id adds nothing.
 */
import { GibbonError } from '../errors.js';
import { sha256Hex } from '../storage/checkpoint-file.js';

export const DECISIONS = ['benign', 'attack'] as const;
export type Decision = (typeof DECISIONS)[number];

export interface NewReviewItem {
  readonly id: string;
  readonly client: string;
  /** One example, float32, with its shape (no batch axis). */
  readonly input: Float32Array;
  readonly shape: readonly number[];
  /** The model's class, and its logits. */
  readonly answer: number;
  readonly logits: readonly number[];
  /** Detector scores by name (the stateful detector's distance under 'stateful'). */
  readonly scores: Readonly<Record<string, number>>;
  /** What flagged it (detector names). */
  readonly reasons: readonly string[];
  readonly verdict: 'flagged' | 'refused';
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

export interface ReviewItem extends NewReviewItem {
  readonly status: 'pending' | 'reviewed';
  readonly decision?: Decision;
  /** The class the reviewer gave (the true class of an attack, or a corrected label). */
  readonly label?: number;
  readonly decidedAt?: number;
}

export type ReviewSummary = Omit<ReviewItem, 'input' | 'logits'>;

export interface ReviewQuery {
  readonly status?: 'pending' | 'reviewed';
  readonly limit: number;
  readonly offset: number;
}

export interface ReviewStore {
  /** What the store is (for logs), without credentials. */
  readonly description: string;
  /** Stores the item durably; false when an item of the same id was already there. */
  enqueue(item: NewReviewItem): Promise<boolean>;
  list(query: ReviewQuery): Promise<ReviewSummary[]>;
  get(id: string): Promise<ReviewItem | undefined>;
  /** Records a decision; undefined when there is no such item. */
  decide(id: string, decision: Decision, label: number | undefined, at: number): Promise<ReviewItem | undefined>;
  counts(): Promise<{ pending: number; reviewed: number }>;
  /** Every reviewed item, oldest first (for the training-set export). */
  reviewed(): Promise<ReviewItem[]>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The id of a queued row: the same client, request and row always give the same id. */
export function reviewItemId(client: string, requestKey: string, row: number): string {
  return sha256Hex(client, '\0', requestKey, '\0', String(row)).slice(0, 32);
}

/** An error of the database behind the store: the server answers 503 while it lasts. */
export class StoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailable';
  }
}

/** The row as stored (both databases keep the same columns). */
export interface StoredRow {
  id: string;
  client: string;
  input: Uint8Array;
  shape: string;
  answer: number;
  logits: string;
  scores: string;
  reasons: string;
  verdict: string;
  created_at: number | string;
  status: string;
  decision: string | null;
  label: number | null;
  decided_at: number | string | null;
}

export const SUMMARY_COLUMNS = 'id, client, shape, answer, scores, reasons, verdict, created_at, status, decision, label, decided_at';

export function toRow(item: NewReviewItem): unknown[] {
  const bytes = new Uint8Array(item.input.buffer, item.input.byteOffset, item.input.byteLength);
  return [
    item.id,
    item.client,
    Buffer.from(bytes),
    JSON.stringify(item.shape),
    item.answer,
    JSON.stringify(item.logits),
    JSON.stringify(item.scores),
    JSON.stringify(item.reasons),
    item.verdict,
    item.createdAt,
  ];
}

export function fromRow(row: StoredRow): ReviewItem {
  const shape = JSON.parse(row.shape) as number[];
  const bytes = row.input ? Uint8Array.from(row.input) : undefined;
  const input = bytes ? new Float32Array(bytes.buffer, 0, bytes.byteLength / 4) : new Float32Array(0);
  if (bytes && input.length !== shape.reduce((a, b) => a * b, 1))
    throw new GibbonError('internal', `review item ${row.id}: stored input does not match its shape`);
  return {
    id: row.id,
    client: row.client,
    input,
    shape,
    answer: Number(row.answer),
    logits: row.logits ? (JSON.parse(row.logits) as number[]) : [],
    scores: JSON.parse(row.scores) as Record<string, number>,
    reasons: JSON.parse(row.reasons) as string[],
    verdict: row.verdict as 'flagged' | 'refused',
    createdAt: Number(row.created_at),
    status: row.status as 'pending' | 'reviewed',
    decision: (row.decision ?? undefined) as Decision | undefined,
    label: row.label ?? undefined,
    decidedAt: row.decided_at === null ? undefined : Number(row.decided_at),
  };
}

/** A summary row (no input, no logits) as stored. */
export function summaryFromRow(row: Omit<StoredRow, 'input' | 'logits'>): ReviewSummary {
  const { input: _input, logits: _logits, ...summary } = fromRow({ ...row, input: undefined as never, logits: '' });
  return summary;
}

/** The queue's table in either database's column types (binary input, millisecond times). */
export function reviewTableSql(types: { readonly bytes: 'BLOB' | 'BYTEA'; readonly time: 'INTEGER' | 'BIGINT' }): string {
  return `
CREATE TABLE IF NOT EXISTS review_items (
  id TEXT PRIMARY KEY,
  client TEXT NOT NULL,
  input ${types.bytes} NOT NULL,
  shape TEXT NOT NULL,
  answer INTEGER NOT NULL,
  logits TEXT NOT NULL,
  scores TEXT NOT NULL,
  reasons TEXT NOT NULL,
  verdict TEXT NOT NULL,
  created_at ${types.time} NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  decision TEXT,
  label INTEGER,
  decided_at ${types.time}
);
CREATE INDEX IF NOT EXISTS review_items_status ON review_items (status, created_at);
`;
}
