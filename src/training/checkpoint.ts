/**
 * The training checkpoint: one binary file written after every epoch through a temporary file
 * and a rename (a run killed at any moment leaves the previous or the next complete checkpoint).
 *
 * Layout: the 8 bytes "GIBBONCK", a little-endian uint32 header length, a UTF-8 JSON header
 * ({ format, version, fingerprint, epoch, history, optimizer steps/spec, tensors: [{name, offset,
 * length}], checksum }), then the float32 data of every tensor (weights, running statistics,
 * optimizer buffers) at 4-byte-aligned offsets from the start of the data block.
 *
 * Read back, it is untrusted: the header is checked with a schema (zod) — tensors inside the data
 * block, aligned, not overlapping, named once — and, from format 2, the checksum (SHA-256 of the
 * header without it and of the data block) must match, so a damaged or edited checkpoint is
 * refused by name instead of resuming from wrong weights.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { firstIssue, sha256Hex } from '../storage/checkpoint-file.js';

export { fingerprintDifference } from '../storage/checkpoint-file.js';

const MAGIC = 'GIBBONCK';
const FORMAT = 'gibbon-training-checkpoint';
/** 2: a checksum in the header. Format 1 (no checksum) is still read. */
const VERSION = 2;
/** A header longer than this is not one of ours (it holds names and a per-epoch history). */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

export interface CheckpointContents<H> {
  /** What identifies the run; a resumed run must present the same. */
  fingerprint: Record<string, unknown>;
  /** Epochs completed. */
  epoch: number;
  header: H;
  tensors: Record<string, Float32Array>;
}

/** SHA-256 of the header's text (without the checksum) and of the data block. */
function checksum(headerText: string, data: readonly Uint8Array[]): string {
  return sha256Hex(headerText, ...data);
}

export function writeCheckpoint<H>(path: string, c: CheckpointContents<H>): void {
  const entries: { name: string; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(c.tensors)) {
    entries.push({ name, offset, length: t.length });
    offset += t.length * 4;
  }
  const tensors = Object.values(c.tensors).map((t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  const fields = { format: FORMAT, version: VERSION, fingerprint: c.fingerprint, epoch: c.epoch, header: c.header, tensors: entries };
  const header = Buffer.from(JSON.stringify({ ...fields, checksum: checksum(JSON.stringify(fields), tensors) }));
  const pad = (4 - ((12 + header.length) % 4)) % 4;
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(header.length + pad, 8);
  writeFileAtomically(path, [prefix, header, Buffer.alloc(pad, 0x20), ...tensors], { fsync: true, what: 'checkpoint' });
}

const count = z.number().int().min(0);
const headerSchema = z.object({
  format: z.literal(FORMAT),
  version: z.union([z.literal(1), z.literal(VERSION)]),
  fingerprint: z.record(z.string(), z.unknown()),
  epoch: count,
  header: z.unknown(),
  tensors: z.array(z.object({ name: z.string().min(1), offset: count.refine((v) => v % 4 === 0, 'not a multiple of 4'), length: count })),
  checksum: z.string().optional(),
});

export function readCheckpoint<H>(path: string): CheckpointContents<H> {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `no checkpoint at ${path}`, { path });
  const bytes = readFileSync(path);
  const bad = (why: string): GibbonError =>
    new GibbonError('invalid_checkpoint', `${path} is not a usable gibbon training checkpoint: ${why}; delete it or drop option resume to start over`, {
      path,
    });
  if (bytes.length < 12 || bytes.toString('ascii', 0, 8) !== MAGIC) throw bad('wrong magic bytes');
  const headerLength = bytes.readUInt32LE(8);
  if (headerLength > MAX_HEADER_BYTES) throw bad(`its header claims ${headerLength} bytes`);
  if (12 + headerLength > bytes.length) throw bad('truncated header');
  const headerText = bytes.toString('utf8', 12, 12 + headerLength).trimEnd();
  let value: unknown;
  try {
    value = JSON.parse(headerText);
  } catch {
    throw bad('header is not JSON');
  }
  const v = value as { format?: unknown; version?: unknown } | null;
  if (v === null || typeof v !== 'object' || v.format !== FORMAT || (v.version !== 1 && v.version !== VERSION)) {
    throw bad(`format ${String(v?.format)} v${String(v?.version)}, expected ${FORMAT} v${VERSION}`);
  }
  const parsed = headerSchema.safeParse(value);
  if (!parsed.success) throw bad(`header field ${firstIssue(parsed.error, '(top)')}`);
  const h = parsed.data;
  const dataStart = 12 + headerLength;
  const dataLength = bytes.length - dataStart;
  const names = new Set<string>();
  const spans = [...h.tensors].sort((a, b) => a.offset - b.offset);
  for (const [k, e] of spans.entries()) {
    if (names.has(e.name)) throw bad(`tensor '${e.name}' appears twice`);
    names.add(e.name);
    if (e.offset + e.length * 4 > dataLength) throw bad(`tensor '${e.name}' is truncated`);
    const next = spans[k + 1];
    if (next && e.offset + e.length * 4 > next.offset) throw bad(`tensors '${e.name}' and '${next.name}' overlap`);
  }
  if (h.version === VERSION) {
    const { checksum: stored, ...fields } = value as Record<string, unknown>;
    if (typeof stored !== 'string' || stored !== checksum(JSON.stringify(fields), [bytes.subarray(dataStart)]))
      throw bad('its checksum does not match (the file is damaged or was edited)');
  }
  const tensors: Record<string, Float32Array> = {};
  for (const e of h.tensors) {
    const start = dataStart + e.offset;
    tensors[e.name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + e.length * 4));
  }
  return { fingerprint: h.fingerprint, epoch: h.epoch, header: h.header as H, tensors };
}
