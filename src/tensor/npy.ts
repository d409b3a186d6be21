/**
 * NumPy .npy files (format versions 1–3): float32, float64, int64, int32, uint8 (and bool, int8),
 * little-endian, C order. Anything else is refused with a message saying what was found.
 */
import { readFileSync, existsSync } from 'node:fs';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { GibbonError } from '../errors.js';
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

const TYPE_TO_DESCR: Partial<Record<ElementType, string>> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  int8: '|i1',
  bool: '|b1',
};

export function parseNpy(bytes: Uint8Array, where = '<buffer>'): AnyTensor {
  const latin = (a: number, b: number): string => String.fromCharCode(...bytes.subarray(a, b));
  if (bytes.byteLength < 10 || latin(0, 6) !== MAGIC) throw new GibbonError('invalid_npy', `${where} is not a .npy file (bad magic bytes)`, { path: where });
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else throw new GibbonError('invalid_npy', `${where}: unsupported .npy format version ${major}`, { path: where });
  const header = latin(start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new GibbonError('invalid_npy', `${where}: malformed .npy header: ${header.trim()}`, { path: where });
  if (fortran === 'True') throw new GibbonError('invalid_npy', `${where} is in Fortran order; save it in C order (numpy.ascontiguousarray)`, { path: where });
  const type = DESCR_TO_TYPE[descr];
  if (!type) {
    throw new GibbonError('invalid_npy', `${where} has dtype '${descr}'; supported: float32, float64, int64, int32, uint8, int8, bool (little-endian)`, { path: where });
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = size(shape);
  const dataStart = start + headerLen;
  const itemSize = type === 'float64' || type === 'int64' ? 8 : type === 'float32' || type === 'int32' ? 4 : 1;
  if (bytes.byteLength - dataStart < count * itemSize) {
    throw new GibbonError('invalid_npy', `${where} is truncated: shape (${shape.join(', ')}) needs ${count * itemSize} bytes of data, found ${bytes.byteLength - dataStart}`, { path: where });
  }
  const buf = bytes.slice(dataStart, dataStart + count * itemSize).buffer;
  let data: TypedData;
  switch (type) {
    case 'float32': data = new Float32Array(buf); break;
    case 'float64': data = new Float64Array(buf); break;
    case 'int64': data = new BigInt64Array(buf); break;
    case 'int32': data = new Int32Array(buf); break;
    case 'int8': data = new Int8Array(buf); break;
    default: data = new Uint8Array(buf);
  }
  return { type, data, shape };
}

export function readNpy(path: string): AnyTensor {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path}`, { path });
  const b = readFileSync(path);
  return parseNpy(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), path);
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
