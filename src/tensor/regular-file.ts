/**
 * Reading a whole file that a user or an untrusted artefact names (a model, a .npy): only regular
 * files, opened without blocking (a FIFO or a terminal would block a plain read forever, /dev/zero
 * never ends), and with a size cap checked before the bytes are read.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { GibbonError, type ErrorCode } from '../errors.js';

export interface RegularFileOptions {
  /** What the file is, for messages ("model file", ".npy file"). */
  readonly what: string;
  /** Largest accepted size in bytes (default: what one Buffer can hold). */
  readonly maxBytes?: number;
  /** Error code for a file that is not a regular file (default 'invalid_input'). */
  readonly code?: ErrorCode;
  /** CLI option the path came from, if any. */
  readonly option?: string;
}

export function describeKind(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

export function readRegularFile(path: string, options: RegularFileOptions): Uint8Array {
  const loc = { path, ...(options.option ? { option: options.option } : {}) };
  const code = options.code ?? 'invalid_input';
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR') throw new GibbonError('file_not_found', `${options.what} not found: ${path}`, loc);
    if (errno === 'EISDIR') throw new GibbonError(code, `${path} is a directory, not a ${options.what}`, loc);
    throw new GibbonError(code, `${options.what} ${path} cannot be opened (${errno ?? (e as Error).message})`, loc, { cause: e });
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) throw new GibbonError(code, `${path} is ${describeKind(s)}, not a ${options.what}`, loc);
    const max = Math.min(options.maxBytes ?? bufferConstants.MAX_LENGTH, bufferConstants.MAX_LENGTH);
    if (s.size > max) throw new GibbonError(code, `${options.what} ${path} is ${s.size} bytes; at most ${max} are accepted`, loc);
    const out = new Uint8Array(s.size);
    let done = 0;
    while (done < s.size) {
      const n = readSync(fd, out, done, Math.min(1 << 30, s.size - done), done);
      if (n === 0) break;
      done += n;
    }
    return done === s.size ? out : out.subarray(0, done);
  } catch (e) {
    if (e instanceof GibbonError) throw e;
    const errno = (e as NodeJS.ErrnoException).code;
    throw new GibbonError(code, `${options.what} ${path} cannot be read (${errno ?? (e as Error).message})`, loc, { cause: e });
  } finally {
    closeSync(fd);
  }
}
