import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordChecksum } from '../storage/checkpoint-file.js';
import { CHECKPOINT_FILE, newCheckpoint, readCheckpoint, writeCheckpoint, type BatchRecord, type StageRecord } from './checkpoint.js';

const work = mkdtempSync(join(tmpdir(), 'gibbon-checkpoint-'));
after(() => rmSync(work, { recursive: true, force: true }));
let dirs = 0;
const dir = (): string => mkdtempSync(join(work, `${dirs++}-`));

const FINGERPRINT = { model: 'sha', batch_size: 4, data: { n: 10 }, threat_model: { eps: [0.1, 0.3] } };

function stage(broken: number[]): StageRecord {
  return {
    label: 'pgd',
    attack: 'pgd',
    role: 'ensemble',
    oracle: 'gradient',
    attacked: 4,
    broken,
    norms: broken.map(() => 0.1),
    maxNorm: 0.1,
    queries: 0,
    steps: 20,
    seconds: 0.5,
    zeroGradient: 0,
    gradientMeasured: 4,
    flatLoss: 0,
    lossMeasured: 4,
    warnings: [],
  };
}

function record(index: number): BatchRecord {
  const start = index * 4;
  const end = Math.min(10, start + 4);
  const size = end - start;
  return {
    index,
    start,
    end,
    predictions: Array.from({ length: size }, (_, i) => (i + index) % 10),
    eps: [
      { eps: 0.1, stages: [{ ...stage([0]), attacked: size }] },
      { eps: 0.3, stages: [{ ...stage([0, 1]), attacked: size }] },
    ],
    forwardDifference: 0,
    gallery: [],
    seconds: 1,
  };
}

function rewrite(d: string, edit: (file: { finished: boolean; records: unknown[]; checksums: string[] }) => void): void {
  const path = join(d, CHECKPOINT_FILE);
  const file = JSON.parse(readFileSync(path, 'utf8'));
  edit(file);
  writeFileSync(path, JSON.stringify(file));
}

test('records come back as written, each with its checksum; the file says format 2', () => {
  const d = dir();
  const records = [record(0), record(1), record(2)];
  writeCheckpoint(d, { ...newCheckpoint(FINGERPRINT, 3), records, finished: true });
  const file = JSON.parse(readFileSync(join(d, CHECKPOINT_FILE), 'utf8'));
  assert.equal(file.version, 2);
  assert.deepEqual(
    file.checksums,
    records.map((r) => recordChecksum(FINGERPRINT, r)),
  );
  const back = readCheckpoint(d, { numClasses: 10 })!;
  assert.deepEqual(back.records, records);
  assert.equal(back.finished, true);
  assert.equal(back.damaged, undefined);
});

test('damaged, edited or foreign records are dropped with a reason; the rest are kept; the checkpoint is no longer finished', () => {
  const d = dir();
  writeCheckpoint(d, { ...newCheckpoint(FINGERPRINT, 3), records: [record(0), record(1), record(2)], finished: true });
  rewrite(d, (f) => {
    // An edit without a new checksum.
    (f.records[0] as BatchRecord & { predictions: number[] }).predictions[0] = 7;
    // A forgery with a valid checksum, but a broken example outside the batch.
    const forged = { ...record(1), eps: [{ eps: 0.1, stages: [stage([999])] }, record(1).eps[1]] };
    f.records[1] = forged;
    f.checksums[1] = recordChecksum(FINGERPRINT, forged);
  });
  const back = readCheckpoint(d)!;
  assert.deepEqual(
    back.records.map((r) => r.index),
    [2],
  );
  assert.equal(back.finished, false);
  assert.deepEqual(back.damaged, [
    'record 0 (batch 0): its checksum does not match',
    "record 1 (batch 1): 'pgd' at ε=0.1 lists broken examples that are not increasing indices below 4",
  ]);
});

test('every kind of bad record is named: wrong types, wrong batch span, budgets, classes, duplicates', () => {
  const d = dir();
  const cases: [unknown, RegExp][] = [
    ['not a record', /the record: /],
    [{ ...record(0), predictions: 'x' }, /predictions: /],
    [{ ...record(0), index: 7 }, /batch index 7 is not below 3/],
    [{ ...record(1), start: 0 }, /it covers examples \[0, 8\), but batch 1 is \[4, 8\)/],
    [{ ...record(2), predictions: [1] }, /it has 1 predictions for 2 examples/],
    [{ ...record(0), predictions: [1, 2, 3, 12] }, /classes beyond the model's 10/],
    [{ ...record(0), eps: [record(0).eps[0]] }, /its budgets \[0\.1\] are not the evaluation's \[0\.1, 0\.3\]/],
    [{ ...record(0), eps: [{ eps: 0.1, stages: [{ ...stage([0, 1]), norms: [1] }] }, record(0).eps[1]] }, /has 1 norms for 2 broken examples/],
    [{ ...record(0), eps: [{ eps: 0.1, stages: [{ ...stage([0]), attacked: 9 }] }, record(0).eps[1]] }, /attacked 9 of 4 examples/],
    [record(0), /its batch is already in the checkpoint/],
  ];
  writeCheckpoint(d, { ...newCheckpoint(FINGERPRINT, 3), records: [record(0)] });
  rewrite(d, (f) => {
    for (const [r] of cases) {
      f.records.push(r);
      f.checksums.push(recordChecksum(FINGERPRINT, r));
    }
  });
  const back = readCheckpoint(d, { numClasses: 10 })!;
  assert.deepEqual(
    back.records.map((r) => r.index),
    [0],
  );
  assert.equal(back.damaged!.length, cases.length);
  cases.forEach(([, pattern], k) => assert.match(back.damaged![k]!, pattern, `case ${k}`));
});

test('a record moved from another run is caught by its checksum; format 1 (no checksums) is still read', () => {
  const d = dir();
  writeCheckpoint(d, { ...newCheckpoint({ ...FINGERPRINT, model: 'other' }, 3), records: [record(0)] });
  rewrite(d, (f) => ((f as unknown as { fingerprint: unknown }).fingerprint = FINGERPRINT));
  assert.deepEqual(readCheckpoint(d)!.damaged, ['record 0 (batch 0): its checksum does not match']);
  const old = dir();
  writeFileSync(join(old, CHECKPOINT_FILE), JSON.stringify({ ...newCheckpoint(FINGERPRINT, 3), version: 1, records: [record(0), { ...record(1), end: 5 }] }));
  const back = readCheckpoint(old)!;
  assert.deepEqual(
    back.records.map((r) => r.index),
    [0],
  );
  assert.match(back.damaged![0]!, /record 1 \(batch 1\): it covers examples \[4, 5\)/);
});

test('a file that is not a checkpoint is refused as a whole, naming it', () => {
  for (const text of ['[1, 2]', 'null', '{"format": "gibbon-evaluation-checkpoint", "version": 2, "records": [], "batches": 1, "fingerprint": {}}', '{']) {
    const d = dir();
    writeFileSync(join(d, CHECKPOINT_FILE), text);
    assert.throws(
      () => readCheckpoint(d),
      (e: unknown) => (e as { code?: string }).code === 'invalid_checkpoint' && (e as Error).message.includes(join(d, CHECKPOINT_FILE)),
      text,
    );
  }
});
