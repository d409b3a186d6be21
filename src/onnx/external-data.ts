/**
 * Loading external-data tensors (initializers and Constant attributes whose bytes live in separate
 * files next to the model) into memory, so the model can be handed to onnxruntime as one buffer.
 *
 * A model file is untrusted input, and its `location` entries are paths it chooses. The rules (the
 * ONNX checker's, made strict):
 * - a location is relative, and it stays inside the model's folder after symlinks are resolved
 *   (the real path of the file is inside the real path of the folder): no absolute paths, no `..`
 *   out of the folder, no symlink pointing out of it;
 * - it names a regular file: no directory, device (/dev/zero), FIFO or socket. The file is opened
 *   non-blocking and checked again on the open descriptor, so a FIFO swapped in after the check
 *   cannot make the read hang;
 * - offset and length are decimal integers, non-negative, within the file, and the length equals
 *   the size the tensor's dims and data type declare (checked before anything is allocated);
 * - each file is opened once and only the declared ranges are read (positions may exceed 2³¹, so
 *   files over 2 GiB work); a single tensor larger than a Buffer can hold is refused.
 * A model read from a buffer has no folder, so external data is refused there.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { isAbsolute, relative, resolve, sep, win32 } from 'node:path';
import { TensorProto_DataLocation, type GraphProto, type TensorProto } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { describeKind } from '../tensor/regular-file.js';
import { dataTypeName, elementBytes } from './dtypes.js';

const KNOWN_KEYS = new Set(['location', 'offset', 'length', 'checksum']);

/** Largest read per readSync call (the syscall takes at most 2³¹ − 1 bytes). */
const READ_CHUNK = 1 << 30;

interface Request {
  readonly tensor: TensorProto;
  readonly location: string;
  readonly offset: number;
  /** undefined: to the end of the file. */
  readonly length: number | undefined;
  readonly expected: number;
}

/** All tensors of a graph and its subgraphs (If/Loop/Scan bodies), walked without recursion. */
function tensorsOf(root: GraphProto): TensorProto[] {
  const out: TensorProto[] = [];
  const stack: GraphProto[] = [root];
  while (stack.length > 0) {
    const g = stack.pop()!;
    out.push(...g.initializer);
    for (const n of g.node) {
      for (const a of n.attribute) {
        if (a.t) out.push(a.t);
        out.push(...a.tensors);
        if (a.g) stack.push(a.g);
        stack.push(...a.graphs);
      }
    }
  }
  return out;
}

/** A name from the model file as it may appear in a one-line message: control characters escaped, length capped. */
function printable(text: string): string {
  const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return shown.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function tensorLabel(t: TensorProto): string {
  return t.name ? `tensor '${printable(t.name)}'` : 'an unnamed tensor';
}

function decimal(value: string, key: string, t: TensorProto, where: string): number {
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new GibbonError('invalid_onnx', `${tensorLabel(t)} in ${where} has external-data ${key} '${value.slice(0, 40)}'; it must be a non-negative integer`, {
      path: where,
    });
  }
  return Number(value);
}

/** Bytes the tensor's dims and data type declare, checked without overflow. */
function declaredBytes(t: TensorProto, where: string): number {
  const bytes = elementBytes(t.dataType);
  if (bytes === undefined) {
    throw new GibbonError(
      'invalid_onnx',
      `${tensorLabel(t)} in ${where} keeps ${dataTypeName(t.dataType)} data externally; only fixed-size numeric types can be external`,
      {
        path: where,
      },
    );
  }
  let n = bytes;
  for (const d of t.dims) {
    if (d < 0n) throw new GibbonError('invalid_onnx', `${tensorLabel(t)} in ${where} has a negative dimension ${d}`, { path: where });
    n *= Number(d);
    if (!Number.isSafeInteger(n)) {
      throw new GibbonError('invalid_onnx', `${tensorLabel(t)} in ${where} declares dims [${t.dims.join(', ')}], more bytes than any file can hold`, {
        path: where,
      });
    }
  }
  return n;
}

function requestFor(t: TensorProto, where: string): Request {
  const info = new Map<string, string>();
  for (const e of t.externalData) {
    if (!KNOWN_KEYS.has(e.key)) {
      throw new GibbonError(
        'invalid_onnx',
        `${tensorLabel(t)} in ${where} has an unknown external-data key '${e.key.slice(0, 40)}' (known: location, offset, length, checksum)`,
        {
          path: where,
        },
      );
    }
    if (info.has(e.key)) throw new GibbonError('invalid_onnx', `${tensorLabel(t)} in ${where} gives external-data '${e.key}' twice`, { path: where });
    info.set(e.key, e.value);
  }
  const location = info.get('location');
  if (!location) throw new GibbonError('invalid_onnx', `${tensorLabel(t)} in ${where} has external data without a location`, { path: where });
  const offset = info.has('offset') ? decimal(info.get('offset')!, 'offset', t, where) : 0;
  const length = info.has('length') ? decimal(info.get('length')!, 'length', t, where) : undefined;
  const expected = declaredBytes(t, where);
  if (length !== undefined && length !== expected) {
    throw new GibbonError(
      'invalid_onnx',
      `${tensorLabel(t)} in ${where}: external-data length ${length} does not match its dims [${t.dims.join(', ')}] of ${dataTypeName(t.dataType)} (${expected} bytes)`,
      { path: where },
    );
  }
  if (expected > bufferConstants.MAX_LENGTH) {
    throw new GibbonError(
      'invalid_onnx',
      `${tensorLabel(t)} in ${where} is ${expected} bytes, more than one tensor can hold in memory (${bufferConstants.MAX_LENGTH})`,
      { path: where },
    );
  }
  return { tensor: t, location, offset, length, expected };
}

/**
 * The real path of `location` inside the real model folder, or an error naming the location.
 * Exported for tests and for anything else that resolves files a model names.
 */
export function confinedPath(location: string, baseDir: string, what: string, where: string): string {
  const refuse = (why: string): never => {
    throw new GibbonError(
      'invalid_onnx',
      `${what} in ${where} points to external data '${printable(location)}', ${why}; external data must be a file inside the model's folder`,
      {
        path: where,
      },
    );
  };
  if (location.includes('\0')) refuse('a path with a NUL byte');
  if (isAbsolute(location) || win32.isAbsolute(location)) refuse('an absolute path');
  const folder = realpathSync(baseDir);
  const lexical = resolve(folder, location);
  const lexicalRel = relative(folder, lexical);
  if (lexicalRel === '' || lexicalRel === '..' || lexicalRel.startsWith(`..${sep}`) || isAbsolute(lexicalRel)) refuse('outside the model folder');
  let real: string;
  try {
    real = realpathSync(lexical);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new GibbonError('file_not_found', `external data file ${lexical} for ${what} in ${where} not found`, { path: lexical });
    }
    throw new GibbonError('invalid_onnx', `external data file ${lexical} for ${what} in ${where} cannot be opened (${code ?? (e as Error).message})`, {
      path: lexical,
    });
  }
  const realRel = relative(folder, real);
  if (realRel === '' || realRel === '..' || realRel.startsWith(`..${sep}`) || isAbsolute(realRel)) refuse('a link that leads outside the model folder');
  return real;
}

/** Opens a regular file for reading without ever blocking (a FIFO would block a plain open). */
function openRegular(real: string, what: string, where: string): { fd: number; size: number } {
  try {
    return openRegularUnchecked(real, what, where);
  } catch (e) {
    if (e instanceof GibbonError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new GibbonError('invalid_onnx', `external data ${real} for ${what} in ${where} cannot be opened (${code})`, { path: real }, { cause: e });
  }
}

function openRegularUnchecked(real: string, what: string, where: string): { fd: number; size: number } {
  const before = statSync(real);
  if (!before.isFile()) {
    throw new GibbonError('invalid_onnx', `external data ${real} for ${what} in ${where} is ${describeKind(before)}; external data must be a regular file`, {
      path: real,
    });
  }
  const fd = openSync(real, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
  try {
    const after = fstatSync(fd);
    if (!after.isFile() || after.ino !== before.ino || after.dev !== before.dev) {
      throw new GibbonError('invalid_onnx', `external data ${real} for ${what} in ${where} changed while it was opened; external data must be a regular file`, {
        path: real,
      });
    }
    return { fd, size: after.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function readRange(fd: number, position: number, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(READ_CHUNK, length - done), position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? out : new Uint8Array(out.buffer, 0, done);
}

/**
 * Replaces every external-data tensor of `graph` (and its subgraphs) by raw data read from the
 * model's folder `baseDir`. `where` names the model in messages. Mutates the protos.
 */
export function resolveExternalData(graph: GraphProto, baseDir: string | undefined, where: string): void {
  const requests = tensorsOf(graph)
    .filter((t) => t.dataLocation === TensorProto_DataLocation.EXTERNAL)
    .map((t) => requestFor(t, where));
  if (requests.length === 0) return;
  if (baseDir === undefined) {
    throw new GibbonError(
      'invalid_onnx',
      `${tensorLabel(requests[0]!.tensor)} has external data (${printable(requests[0]!.location)}) but the model was not read from a file, so there is no folder to read it from`,
      {
        path: where,
      },
    );
  }
  const byFile = new Map<string, Request[]>();
  for (const r of requests) {
    const real = confinedPath(r.location, baseDir, tensorLabel(r.tensor), where);
    const list = byFile.get(real);
    if (list) list.push(r);
    else byFile.set(real, [r]);
  }
  for (const [real, list] of byFile) {
    const { fd, size } = openRegular(real, tensorLabel(list[0]!.tensor), where);
    try {
      for (const r of list) {
        const length = r.length ?? size - r.offset;
        if (r.offset > size || length > size - r.offset) {
          throw new GibbonError(
            'invalid_onnx',
            `external data for ${tensorLabel(r.tensor)} runs past the end of ${real} (offset ${r.offset} + length ${length} > ${size} bytes)`,
            { path: real },
          );
        }
        if (length !== r.expected) {
          throw new GibbonError(
            'invalid_onnx',
            `external data for ${tensorLabel(r.tensor)} in ${real} is ${length} bytes from offset ${r.offset}, but its dims [${r.tensor.dims.join(', ')}] of ${dataTypeName(r.tensor.dataType)} need ${r.expected}`,
            { path: real },
          );
        }
        let data: Uint8Array<ArrayBuffer>;
        try {
          data = readRange(fd, r.offset, length);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
          throw new GibbonError(
            'invalid_onnx',
            `external data file ${real} for ${tensorLabel(r.tensor)} cannot be read (${code})`,
            { path: real },
            { cause: e },
          );
        }
        if (data.byteLength !== length) {
          throw new GibbonError(
            'invalid_onnx',
            `external data file ${real} ended early while reading ${tensorLabel(r.tensor)} (it changed while being read?)`,
            { path: real },
          );
        }
        r.tensor.rawData = data;
        r.tensor.dataLocation = TensorProto_DataLocation.DEFAULT;
        r.tensor.externalData = [];
      }
    } finally {
      closeSync(fd);
    }
  }
}
