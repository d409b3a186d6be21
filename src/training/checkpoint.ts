/**
 * The training checkpoint: one binary file written after every epoch through a temporary file
 * and a rename (a run killed at any moment leaves the previous or the next complete checkpoint).
 *
 * Layout: the 8 bytes "GIBBONCK", a little-endian uint32 header length, a UTF-8 JSON header
 * ({ format, version, fingerprint, epoch, history, optimizer steps/spec, tensors: [{name, offset,
 * length}] }), then the float32 data of every tensor (weights, running statistics, optimizer
 * buffers) at 4-byte-aligned offsets from the start of the data block.
 */
import { existsSync, readFileSync } from 'node:fs';
import { GibbonError } from '../errors.js';
import { writeFileAtomically } from '../storage/atomic-write.js';

const MAGIC = 'GIBBONCK';
const FORMAT = 'gibbon-training-checkpoint';
const VERSION = 1;

export interface CheckpointContents<H> {
  /** What identifies the run; a resumed run must present the same. */
  fingerprint: Record<string, unknown>;
  /** Epochs completed. */
  epoch: number;
  header: H;
  tensors: Record<string, Float32Array>;
}

export function writeCheckpoint<H>(path: string, c: CheckpointContents<H>): void {
  const entries: { name: string; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(c.tensors)) {
    entries.push({ name, offset, length: t.length });
    offset += t.length * 4;
  }
  const header = Buffer.from(JSON.stringify({ format: FORMAT, version: VERSION, fingerprint: c.fingerprint, epoch: c.epoch, header: c.header, tensors: entries }));
  const pad = (4 - ((12 + header.length) % 4)) % 4;
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(header.length + pad, 8);
  const tensors = Object.values(c.tensors).map((t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  writeFileAtomically(path, [prefix, header, Buffer.alloc(pad, 0x20), ...tensors], { fsync: true, what: 'checkpoint' });
}

export function readCheckpoint<H>(path: string): CheckpointContents<H> {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `no checkpoint at ${path}`, { path });
  const bytes = readFileSync(path);
  const bad = (why: string): GibbonError => new GibbonError('invalid_checkpoint', `${path} is not a usable gibbon training checkpoint: ${why}`, { path });
  if (bytes.length < 12 || bytes.toString('ascii', 0, 8) !== MAGIC) throw bad('wrong magic bytes');
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) throw bad('truncated header');
  let parsed: { format?: string; version?: number; fingerprint: Record<string, unknown>; epoch: number; header: H; tensors: { name: string; offset: number; length: number }[] };
  try {
    parsed = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength));
  } catch {
    throw bad('header is not JSON');
  }
  if (parsed.format !== FORMAT || parsed.version !== VERSION) throw bad(`format ${parsed.format} v${parsed.version}, expected ${FORMAT} v${VERSION}`);
  const dataStart = 12 + headerLength;
  const tensors: Record<string, Float32Array> = {};
  for (const e of parsed.tensors) {
    const start = dataStart + e.offset;
    if (start + e.length * 4 > bytes.length) throw bad(`tensor '${e.name}' is truncated`);
    tensors[e.name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + e.length * 4));
  }
  return { fingerprint: parsed.fingerprint, epoch: parsed.epoch, header: parsed.header, tensors };
}

/** Names the fields in which two fingerprints differ ('' when they agree). */
export function fingerprintDifference(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: checkpoint ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`)
    .join('; ');
}
