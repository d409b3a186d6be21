/**
 * The review queue's two databases behave the same: enqueue is idempotent, items come back exactly
 * (input bytes, scores, reasons), decisions are recorded, counts and the reviewed list agree.
 * PostgreSQL is the real server at GIBBON_TEST_POSTGRES_URL (default
 * postgres://gibbon:gibbon@127.0.0.1:5432/gibbon_test; tools/guard/services.sh, which .ci/run calls,
 * starts it); the test fails, not skips, when it cannot be reached.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openReviewStore } from '../../src/server/open-review-store.js';
import { reviewItemId, type NewReviewItem, type ReviewStore } from '../../src/server/review-store.js';
import { readNpy } from '../../src/tensor/npy.js';
import { runCli } from '../helpers/cli.js';
import { postgresSchemaUrl, scratch, STANDARD } from '../helpers/guard.js';

const work = scratch('gibbon-guard-stores-');
const stores: ReviewStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
});

function item(client: string, row: number, createdAt: number): NewReviewItem {
  const input = Float32Array.from({ length: 784 }, (_, i) => ((i * 31 + row) % 256) / 255);
  return {
    id: reviewItemId(client, 'request-1', row),
    client,
    input,
    shape: [1, 28, 28],
    answer: row % 10,
    logits: Array.from({ length: 10 }, (_, i) => i - row),
    scores: { combined: 3.5 + row, stateful: 0.01 },
    reasons: ['combined', 'stateful'],
    verdict: 'flagged',
    createdAt,
  };
}

async function conformance(store: ReviewStore): Promise<void> {
  const t = Date.now();
  const items = [item('alice', 0, t), item('alice', 1, t + 1), item('bob<script>', 2, t + 2)];
  for (const it of items) assert.equal(await store.enqueue(it), true);
  for (const it of items) assert.equal(await store.enqueue(it), false, 'a second enqueue of the same id adds nothing');
  assert.deepEqual(await store.counts(), { pending: 3, reviewed: 0 });
  const got = (await store.get(items[2]!.id))!;
  assert.deepEqual(Array.from(got.input), Array.from(items[2]!.input));
  assert.deepEqual(got.scores, items[2]!.scores);
  assert.deepEqual(got.reasons, ['combined', 'stateful']);
  assert.equal(got.client, 'bob<script>');
  assert.equal(got.createdAt, t + 2);
  assert.equal(got.status, 'pending');
  const page = await store.list({ status: 'pending', limit: 2, offset: 1 });
  assert.deepEqual(
    page.map((p) => p.id),
    [items[1]!.id, items[2]!.id],
  );
  const decided = await store.decide(items[0]!.id, 'attack', 3, t + 10);
  assert.equal(decided?.decision, 'attack');
  assert.equal(decided?.label, 3);
  assert.equal(await store.decide('0'.repeat(32), 'benign', undefined, t), undefined);
  assert.deepEqual(await store.counts(), { pending: 2, reviewed: 1 });
  assert.deepEqual(
    (await store.reviewed()).map((r) => [r.id, r.decision, r.label, r.decidedAt]),
    [[items[0]!.id, 'attack', 3, t + 10]],
  );
  await store.ping();
}

test('SQLite review store: idempotent enqueue, exact round trip, decisions; gibbon guard export writes the training set', async () => {
  const db = `sqlite:${join(work, 'review.db')}`;
  const store = await openReviewStore(db);
  await conformance(store);
  await store.close();
  const r = await runCli(work, 'guard', 'export', '--db', db, '--out', 'set');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 reviewed items → .*X\.npy, .*Y\.npy \(0 attacks without a class left out\)/);
  assert.deepEqual(readNpy(join(work, 'set', 'X.npy')).shape, [1, 1, 28, 28]);
  assert.deepEqual(Array.from(readNpy(join(work, 'set', 'Y.npy')).data as BigInt64Array, Number), [3]);
});

test('gibbon guard serve without keys in the environment stops with one line naming the variable', async () => {
  delete process.env['GIBBON_GUARD_ADMIN_KEY'];
  delete process.env['GIBBON_GUARD_KEYS'];
  const r = await runCli(work, 'guard', 'serve', STANDARD, '--db', `sqlite:${join(work, 'x.db')}`);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /GIBBON_GUARD_ADMIN_KEY is not set/);
  const bad = await runCli(work, 'guard', 'watch');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown action 'watch'; give 'serve' or 'export'/);
});

test('PostgreSQL review store: the same behaviour (a real server, in a schema of its own)', async () => {
  const store = await openReviewStore(await postgresSchemaUrl('guard_test'));
  stores.push(store);
  assert.doesNotMatch(store.description, /:gibbon@/, 'the password is not shown');
  await conformance(store);
});
