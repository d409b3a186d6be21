/**
 * IDX files (the format MNIST ships in): a 4-byte magic number — two zero bytes, an element-type
 * byte, the number of dimensions — then each dimension as a big-endian uint32, then the data.
 * Only unsigned-byte files (type 0x08, what MNIST uses) are read. Rows along the first dimension
 * can be read without loading the rest of the file.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { GibbonError } from '../errors.js';

const UBYTE = 0x08;

export interface IdxHeader {
  /** The magic number as one big-endian uint32 (2051 for MNIST images, 2049 for labels). */
  readonly magic: number;
  readonly dims: readonly number[];
  /** Byte offset of the data. */
  readonly dataStart: number;
}

export interface IdxRows {
  readonly header: IdxHeader;
  /** Rows [offset, offset + count) of the first dimension, as stored. */
  readonly data: Uint8Array;
  readonly offset: number;
  readonly count: number;
}

function readExactly(fd: number, length: number, position: number): Uint8Array {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

function parseHeader(fd: number, path: string, fileSize: number): IdxHeader {
  const head = readExactly(fd, 4, 0);
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) {
    throw new GibbonError('invalid_input', `${path} is not an IDX file (its first bytes are not an IDX magic number)`, { path });
  }
  if (head[2] !== UBYTE) {
    throw new GibbonError(
      'invalid_input',
      `${path} holds IDX element type 0x${head[2]!.toString(16).padStart(2, '0')}; only unsigned bytes (0x08) are supported`,
      { path },
    );
  }
  const rank = head[3]!;
  if (rank === 0) throw new GibbonError('invalid_input', `${path} declares an IDX array with no dimensions`, { path });
  const dimBytes = readExactly(fd, 4 * rank, 4);
  if (dimBytes.length < 4 * rank) throw new GibbonError('invalid_input', `${path} is truncated inside its IDX header`, { path });
  const view = new DataView(dimBytes.buffer, dimBytes.byteOffset, dimBytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 * i, false));
  const dataStart = 4 + 4 * rank;
  const needed = dims.reduce((a, d) => a * d, 1);
  if (fileSize - dataStart < needed) {
    throw new GibbonError(
      'invalid_input',
      `${path} is truncated: its header declares [${dims.join(', ')}] (${needed} bytes of data) but the file holds ${Math.max(0, fileSize - dataStart)}`,
      { path },
    );
  }
  return { magic: new DataView(head.buffer).getUint32(0, false), dims, dataStart };
}

/**
 * Reads `count` rows (default: all) from row `offset` of an IDX file, fewer if the file ends first;
 * checks the magic number against `expectedMagic` when given.
 */
export function readIdxRows(path: string, options: { offset?: number; count?: number; expectedMagic?: number; what?: string } = {}): IdxRows {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path}`, { path });
  const fd = openSync(path, 'r');
  try {
    const header = parseHeader(fd, path, fstatSync(fd).size);
    if (options.expectedMagic !== undefined && header.magic !== options.expectedMagic) {
      throw new GibbonError(
        'invalid_input',
        `${path} has IDX magic number ${header.magic}; ${options.what ?? 'this file'} should have ${options.expectedMagic}`,
        { path },
      );
    }
    const total = header.dims[0]!;
    const offset = options.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0 || offset > total) {
      throw new GibbonError('invalid_option', `offset ${offset} is outside ${path}, which has ${total} rows`, { option: 'offset', path });
    }
    const count = Math.max(0, Math.min(options.count ?? total - offset, total - offset));
    const row = header.dims.slice(1).reduce((a, d) => a * d, 1);
    const data = readExactly(fd, count * row, header.dataStart + offset * row);
    return { header, data, offset, count };
  } finally {
    closeSync(fd);
  }
}
