import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordChecksum } from '../storage/checkpoint-file.js';
import { checkpointPath, readCertificationCheckpoint, writeCertificationCheckpoint } from './checkpoint.js';
import type { CertifiedExample } from './result.js';

const work = mkdtempSync(join(tmpdir(), 'gibbon-cert-checkpoint-'));
after(() => rmSync(work, { recursive: true, force: true }));
const FINGERPRINT = { method: 'randomized-smoothing', n: 5, sigma: 0.25 };
const records: CertifiedExample[] = [
  { index: 0, label: 3, prediction: 3, radius: 0.41, correct: true, details: { pA: 0.9 } },
  { index: 1, label: 1, prediction: 'abstain', radius: 0, correct: false },
  { index: 2, label: 7, prediction: 2, radius: 0.1, correct: false },
];

test('records come back as written; edited, forged and impossible records are dropped with a reason each', () => {
  writeCertificationCheckpoint(work, FINGERPRINT, records, 12.5);
  assert.deepEqual(readCertificationCheckpoint(work)!.records, records);
  assert.equal(readCertificationCheckpoint(work)!.damaged, undefined);

  const file = JSON.parse(readFileSync(checkpointPath(work), 'utf8'));
  assert.equal(file.version, 2);
  file.records[0].radius = 4.1; // edited: checksum
  const forged = [
    { index: 3, label: 1, prediction: 2, radius: 0.3, correct: true },
    { index: 9, label: 1, prediction: 1, radius: 0.3, correct: true },
    { index: 4, label: 1, prediction: 'abstain', radius: 2, correct: false },
    { index: 4, label: 1, prediction: 1, radius: -1, correct: true },
    { index: 2, label: 7, prediction: 2, radius: 0.1, correct: false },
  ];
  for (const f of forged) {
    file.records.push(f);
    file.checksums.push(recordChecksum(FINGERPRINT, f));
  }
  writeFileSync(checkpointPath(work), JSON.stringify(file));
  const back = readCertificationCheckpoint(work)!;
  assert.deepEqual(
    back.records.map((r) => r.index),
    [1, 2],
  );
  assert.deepEqual(back.damaged, [
    'record 0 (example 0): its checksum does not match',
    'record 3 (example 3): correct is true but the prediction is 2 and the label 1',
    "record 4 (example 9): example 9 is not one of the run's 5",
    'record 5 (example 4): an abstention certifies radius 2, not 0',
    'record 6 (example 4): radius: Too small: expected number to be >=0',
    'record 7 (example 2): its example is already in the checkpoint',
  ]);
});
