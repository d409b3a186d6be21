/**
 * Decoding and encoding of ONNX TensorProto values (initializers, Constant attributes).
 * Data may sit in raw_data (little-endian bytes) or in the typed repeated fields.
 */
import { create } from '@bufbuild/protobuf';
import { TensorProtoSchema, TensorProto_DataLocation, type TensorProto } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { DataType as DT, dataTypeName, elementBytes, type NumericArray } from './dtypes.js';

/** A decoded constant tensor. `data` is a typed array matching `dataType`. */
export interface ConstTensor {
  readonly dataType: number;
  readonly dims: readonly number[];
  readonly data: NumericArray;
}

export function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function halfToFloat(h: number): number {
  const s = (h & 0x8000) >> 15;
  const e = (h & 0x7c00) >> 10;
  const f = h & 0x03ff;
  if (e === 0) return (s ? -1 : 1) * Math.pow(2, -14) * (f / 1024);
  if (e === 0x1f) return f ? NaN : (s ? -1 : 1) * Infinity;
  return (s ? -1 : 1) * Math.pow(2, e - 15) * (1 + f / 1024);
}

function copyBytes(raw: Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(raw.byteLength);
  new Uint8Array(buf).set(raw);
  return buf;
}

/** An empty array of the class decodeTensor uses for the type (float32 for float16 and others). */
function emptyOf(dataType: number): NumericArray {
  switch (dataType) {
    case DT.DOUBLE:
      return new Float64Array(0);
    case DT.INT64:
      return new BigInt64Array(0);
    case DT.INT32:
      return new Int32Array(0);
    case DT.INT16:
      return new Int16Array(0);
    case DT.INT8:
      return new Int8Array(0);
    case DT.UINT8:
    case DT.BOOL:
      return new Uint8Array(0);
    case DT.UINT16:
      return new Uint16Array(0);
    default:
      return new Float32Array(0);
  }
}

/** Decode a TensorProto (external data must already be resolved into raw_data). */
export function decodeTensor(t: TensorProto): ConstTensor {
  const dims = t.dims.map((d) => Number(d));
  const n = product(dims);
  const where = t.name ? ` '${t.name}'` : '';
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new GibbonError('invalid_onnx', `tensor${where} has invalid dims [${dims.join(', ')}]`);
  }
  // Zero-element tensors (an empty Resize roi, a 0-length shape) are legal for every data type,
  // including ones gibbon cannot otherwise decode, and have no data to load from anywhere.
  if (n === 0) return { dataType: t.dataType === DT.FLOAT16 || t.dataType === DT.BFLOAT16 ? DT.FLOAT : t.dataType, dims, data: emptyOf(t.dataType) };
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL && t.rawData.byteLength === 0) {
    throw new GibbonError('invalid_onnx', `tensor${where} has external data that was not loaded`);
  }
  const raw = t.rawData;
  const hasRaw = raw.byteLength > 0;
  const width = elementBytes(t.dataType);
  if (hasRaw && width !== undefined && raw.byteLength !== n * width) {
    throw new GibbonError(
      'invalid_onnx',
      `tensor${where} has ${raw.byteLength} bytes of raw data but its dims [${dims.join(', ')}] need ${n * width} (truncated or malformed file?)`,
    );
  }
  let data: NumericArray;
  switch (t.dataType) {
    case DT.FLOAT:
      data = hasRaw ? new Float32Array(copyBytes(raw)) : Float32Array.from(t.floatData);
      break;
    case DT.DOUBLE:
      data = hasRaw ? new Float64Array(copyBytes(raw)) : Float64Array.from(t.doubleData);
      break;
    case DT.FLOAT16: {
      const u16 = hasRaw ? new Uint16Array(copyBytes(raw)) : Uint16Array.from(t.int32Data);
      data = Float32Array.from(u16, halfToFloat);
      return { dataType: DT.FLOAT, dims, data: checkLength(data, n, where) };
    }
    case DT.BFLOAT16: {
      // bfloat16 is the top half of a float32.
      const u16 = hasRaw ? new Uint16Array(copyBytes(raw)) : Uint16Array.from(t.int32Data);
      const bits = Uint32Array.from(u16, (h) => h << 16);
      data = new Float32Array(bits.buffer);
      return { dataType: DT.FLOAT, dims, data: checkLength(data, n, where) };
    }
    case DT.INT64:
      data = hasRaw ? new BigInt64Array(copyBytes(raw)) : BigInt64Array.from(t.int64Data);
      break;
    case DT.INT32:
      data = hasRaw ? new Int32Array(copyBytes(raw)) : Int32Array.from(t.int32Data);
      break;
    case DT.INT16:
      data = hasRaw ? new Int16Array(copyBytes(raw)) : Int16Array.from(t.int32Data);
      break;
    case DT.INT8:
      data = hasRaw ? new Int8Array(copyBytes(raw)) : Int8Array.from(t.int32Data);
      break;
    case DT.UINT8:
    case DT.BOOL:
      data = hasRaw ? new Uint8Array(copyBytes(raw)) : Uint8Array.from(t.int32Data);
      break;
    case DT.UINT16:
      data = hasRaw ? new Uint16Array(copyBytes(raw)) : Uint16Array.from(t.int32Data);
      break;
    default:
      throw new GibbonError('invalid_onnx', `tensor${where} has data type ${dataTypeName(t.dataType)}, which gibbon cannot decode`);
  }
  return { dataType: t.dataType, dims, data: checkLength(data, n, where) };
}

function checkLength(data: NumericArray, n: number, where: string): NumericArray {
  if (data.length !== n) {
    throw new GibbonError('invalid_onnx', `tensor${where} holds ${data.length} values but its dims need ${n} (truncated or malformed file?)`);
  }
  return data;
}

/** Encode a typed array as a TensorProto with raw_data. */
export function encodeTensor(name: string, dataType: number, dims: readonly number[], data: NumericArray): TensorProto {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return create(TensorProtoSchema, { name, dataType, dims: dims.map((d) => BigInt(d)), rawData: bytes });
}

/** Numbers of an integer or float constant, as JS numbers (for attribute-like inputs such as axes). */
export function toNumbers(t: ConstTensor): number[] {
  const out: number[] = new Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]);
  return out;
}
