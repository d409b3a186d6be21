import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';

const work = mkdtempSync(join(tmpdir(), 'gibbon-train-checkpoint-'));
after(() => rmSync(work, { recursive: true, force: true }));
const path = join(work, 'm.ckpt');
const contents = {
  fingerprint: { arch: 'mlp', epochs: 3 },
  epoch: 2,
  header: { history: [{ epoch: 1 }, { epoch: 2 }] },
  tensors: { w: Float32Array.from([1, 2, 3]), b: Float32Array.from([0.5]) },
};

/** The file split into its header object and data block. */
function parts(bytes: Buffer): { header: Record<string, unknown>; data: Buffer } {
  const length = bytes.readUInt32LE(8);
  return { header: JSON.parse(bytes.toString('utf8', 12, 12 + length)), data: bytes.subarray(12 + length) };
}

/** A file with this header and data (the header padded to 4 bytes, as the writer does). */
function assemble(header: Record<string, unknown>, data: Buffer): Buffer {
  const text = Buffer.from(JSON.stringify(header));
  const pad = (4 - ((12 + text.length) % 4)) % 4;
  const prefix = Buffer.alloc(12);
  prefix.write('GIBBONCK', 0, 'ascii');
  prefix.writeUInt32LE(text.length + pad, 8);
  return Buffer.concat([prefix, text, Buffer.alloc(pad, 0x20), data]);
}

/** The checksum a forger would compute for this header and data. */
function forge(header: Record<string, unknown>, data: Buffer): Record<string, unknown> {
  const { checksum: _, ...fields } = header;
  return { ...fields, checksum: createHash('sha256').update(JSON.stringify(fields)).update(data).digest('hex') };
}

const refused = (pattern: RegExp) => (e: unknown) =>
  e instanceof GibbonError && e.code === 'invalid_checkpoint' && e.location.path === path && pattern.test(e.message);

test('a checkpoint reads back as written', () => {
  writeCheckpoint(path, contents);
  const back = readCheckpoint<typeof contents.header>(path);
  assert.deepEqual(back.fingerprint, contents.fingerprint);
  assert.equal(back.epoch, 2);
  assert.deepEqual(back.header, contents.header);
  assert.deepEqual(Array.from(back.tensors.w!), [1, 2, 3]);
  assert.deepEqual(Array.from(back.tensors.b!), [0.5]);
});

test('a flipped bit in the weights, or an edited header, fails the checksum', () => {
  writeCheckpoint(path, contents);
  const good = readFileSync(path);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1]! ^= 0x01;
  writeFileSync(path, flipped);
  assert.throws(() => readCheckpoint(path), refused(/is not a usable gibbon training checkpoint: its checksum does not match/));
  const { header, data } = parts(good);
  writeFileSync(path, assemble({ ...header, epoch: 3 }, data));
  assert.throws(() => readCheckpoint(path), refused(/its checksum does not match/));
});

test('forged headers with valid checksums are refused by the schema and layout checks', () => {
  writeCheckpoint(path, contents);
  const { header, data } = parts(readFileSync(path));
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...header, epoch: -1 }, /header field epoch/],
    [
      {
        ...header,
        tensors: [
          { name: 'w', offset: 0, length: 3 },
          { name: 'b', offset: 8, length: 1 },
        ],
      },
      /tensors 'w' and 'b' overlap/,
    ],
    [{ ...header, tensors: [{ name: 'w', offset: 0, length: 1e9 }] }, /tensor 'w' is truncated/],
    [{ ...header, tensors: [{ name: 'w', offset: 2, length: 1 }] }, /header field tensors\.0\.offset: not a multiple of 4/],
    [
      {
        ...header,
        tensors: [
          { name: 'w', offset: 0, length: 1 },
          { name: 'w', offset: 4, length: 1 },
        ],
      },
      /tensor 'w' appears twice/,
    ],
    [{ ...header, fingerprint: 'x' }, /header field fingerprint/],
  ];
  for (const [forged, pattern] of cases) {
    writeFileSync(path, assemble(forge(forged, data), data));
    assert.throws(() => readCheckpoint(path), refused(pattern), pattern.source);
  }
  const huge = assemble(header, data);
  huge.writeUInt32LE(0xffffffff, 8);
  writeFileSync(path, huge);
  assert.throws(() => readCheckpoint(path), refused(/its header claims 4294967295 bytes/));
});

test('format 1 (before checksums) is still read', () => {
  writeCheckpoint(path, contents);
  const { header, data } = parts(readFileSync(path));
  const { checksum: _, ...old } = header;
  writeFileSync(path, assemble({ ...old, version: 1 }, data));
  assert.deepEqual(Array.from(readCheckpoint(path).tensors.w!), [1, 2, 3]);
});
