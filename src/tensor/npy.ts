/**
 * NumPy .npy files (format versions 1–3): float32, float64, int64, int32, uint8 (and bool, int8),
 * little-endian, C order. Anything else is refused with a message saying what was found.
 */
import { constants as bufferConstants } from 'node:buffer';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { GibbonError } from '../errors.js';
import { readRegularFile } from './regular-file.js';
import { size, type AnyTensor, type ElementType, type TypedData } from './tensor.js';

const MAGIC = '\x93NUMPY';

const DESCR_TO_TYPE: Record<string, ElementType> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<i8': 'int64',
  '<i4': 'int32',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '|i1': 'int8',
  '|b1': 'bool',
};

/** The typed array each element type is read into (uint8 and bool: Uint8Array). */
const TYPED_ARRAYS: Partial<Record<ElementType, new (buffer: ArrayBuffer) => TypedData>> = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
};

const TYPE_TO_DESCR: Partial<Record<ElementType, string>> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  int8: '|i1',
  bool: '|b1',
};

/** Longest header accepted (numpy itself refuses headers over 10 000 bytes by default). */
export const MAX_NPY_HEADER_BYTES = 65_536;

type HeaderValue = string | boolean | number[];

/**
 * Parses the header, a Python dict literal such as `{'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), }`, exactly: string keys, and values that are strings, True/False or tuples of
 * non-negative integers. Anything else (expressions, negative or fractional dims, duplicate keys)
 * is refused, since a loose match would read a shape the writer never meant.
 */
function parseHeader(text: string, where: string): Map<string, HeaderValue> {
  let i = 0;
  const fail = (why: string): never => {
    throw new GibbonError('invalid_npy', `${where}: malformed .npy header (${why} at character ${i}): ${text.trim().slice(0, 120)}`, { path: where });
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (c: string): void => {
    ws();
    if (text[i] !== c) fail(`expected '${c}'`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') return fail('expected a quoted string');
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail('unterminated string');
    const v = text.slice(i + 1, end);
    i = end + 1;
    return v;
  };
  const value = (): HeaderValue => {
    ws();
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    if (text[i] === '(') {
      i++;
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ')') {
          i++;
          return dims;
        }
        const m = /^[0-9]+/.exec(text.slice(i, i + 40));
        if (!m) return fail('shape entries must be non-negative integers');
        const d = Number(m[0]);
        if (!Number.isSafeInteger(d)) fail(`shape entry ${m[0]} is too large`);
        dims.push(d);
        i += m[0].length;
        if (text[i] === 'L') i++; // Python 2 long literals
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') fail('expected , or ) in the shape');
      }
    }
    return str();
  };
  const out = new Map<string, HeaderValue>();
  expect('{');
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const key = str();
    expect(':');
    if (out.has(key)) fail(`duplicate key '${key}'`);
    out.set(key, value());
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail('expected , or }');
  }
  ws();
  if (i !== text.length) fail('text after the closing brace');
  return out;
}

export function parseNpy(bytes: Uint8Array, where = '<buffer>'): AnyTensor {
  // Byte by byte: browsers' TextDecoder('latin1') is windows-1252, which reads the magic byte 0x93 as '“'.
  const latin = (a: number, b: number): string => Array.from(bytes.subarray(a, b), (c) => String.fromCharCode(c)).join('');
  if (bytes.byteLength < 10 || latin(0, 6) !== MAGIC) throw new GibbonError('invalid_npy', `${where} is not a .npy file (bad magic bytes)`, { path: where });
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw new GibbonError('invalid_npy', `${where} is truncated inside its .npy header`, { path: where });
    headerLen = view.getUint32(8, true);
    start = 12;
  } else throw new GibbonError('invalid_npy', `${where}: unsupported .npy format version ${major}`, { path: where });
  if (headerLen > MAX_NPY_HEADER_BYTES) {
    throw new GibbonError('invalid_npy', `${where} declares a ${headerLen}-byte .npy header; at most ${MAX_NPY_HEADER_BYTES} are accepted`, { path: where });
  }
  if (start + headerLen > bytes.byteLength) {
    throw new GibbonError(
      'invalid_npy',
      `${where} is truncated: its .npy header declares ${headerLen} bytes, the file has ${bytes.byteLength - start} after the preamble`,
      { path: where },
    );
  }
  const header = parseHeader(latin(start, start + headerLen), where);
  const descr = header.get('descr');
  const fortran = header.get('fortran_order');
  const shape = header.get('shape');
  if (typeof descr !== 'string' || typeof fortran !== 'boolean' || !Array.isArray(shape)) {
    throw new GibbonError('invalid_npy', `${where}: the .npy header needs 'descr' (a string), 'fortran_order' (True/False) and 'shape' (a tuple)`, {
      path: where,
    });
  }
  const unknown = [...header.keys()].filter((k) => k !== 'descr' && k !== 'fortran_order' && k !== 'shape');
  if (unknown.length > 0) throw new GibbonError('invalid_npy', `${where}: unknown .npy header key '${unknown[0]!.slice(0, 40)}'`, { path: where });
  if (fortran) throw new GibbonError('invalid_npy', `${where} is in Fortran order; save it in C order (numpy.ascontiguousarray)`, { path: where });
  const type = DESCR_TO_TYPE[descr];
  if (!type) {
    throw new GibbonError(
      'invalid_npy',
      `${where} has dtype '${descr.slice(0, 40)}'; supported: float32, float64, int64, int32, uint8, int8, bool (little-endian)`,
      { path: where },
    );
  }
  const count = size(shape);
  const dataStart = start + headerLen;
  const itemSize = type === 'float64' || type === 'int64' ? 8 : type === 'float32' || type === 'int32' ? 4 : 1;
  const needed = count * itemSize;
  if (!Number.isSafeInteger(needed) || needed > bufferConstants.MAX_LENGTH) {
    throw new GibbonError('invalid_npy', `${where} declares shape (${shape.join(', ')}), more data than gibbon can hold in memory`, { path: where });
  }
  if (bytes.byteLength - dataStart < needed) {
    throw new GibbonError(
      'invalid_npy',
      `${where} is truncated: shape (${shape.join(', ')}) needs ${needed} bytes of data, found ${bytes.byteLength - dataStart}`,
      { path: where },
    );
  }
  const buf = bytes.slice(dataStart, dataStart + needed).buffer;
  const data: TypedData = new (TYPED_ARRAYS[type] ?? Uint8Array)(buf);
  return { type, data, shape };
}

export function readNpy(path: string): AnyTensor {
  return parseNpy(readRegularFile(path, { what: '.npy file', code: 'invalid_npy' }), path);
}

export function formatNpy(t: AnyTensor): Uint8Array {
  const descr = TYPE_TO_DESCR[t.type];
  if (!descr) throw new GibbonError('invalid_npy', `cannot write ${t.type} tensors to .npy`);
  if (t.data.length !== size(t.shape)) {
    throw new GibbonError('internal', `cannot write .npy: ${t.data.length} values do not fill shape [${t.shape.join(', ')}]`);
  }
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + t.data.byteLength);
  out.set([0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0)), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + header.length);
  return out;
}

export function writeNpy(path: string, t: AnyTensor): void {
  writeFileAtomically(path, [formatNpy(t)], { createFolder: false });
}

/** Any numeric tensor as float32 (images and other inputs). */
export function toFloat32(t: AnyTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  return Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
}
