/** The review store a --db value names; each database's driver is loaded only when it is used. */
import type { ReviewStore } from './review-store.js';

/** Opens the store a --db value names: sqlite:PATH (or a bare path) or postgres://… */
export async function openReviewStore(url: string): Promise<ReviewStore> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresReviewStore } = await import('./review-store-postgres.js');
    return PostgresReviewStore.open(url);
  }
  const { SqliteReviewStore } = await import('./review-store-sqlite.js');
  return SqliteReviewStore.open(url.replace(/^sqlite:(\/\/)?/, ''));
}
