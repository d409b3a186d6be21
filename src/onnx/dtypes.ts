import { TensorProto_DataType as DT } from 'onnx-buf';

export { DT as DataType };

export type NumericArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | BigInt64Array;

const NAMES: Record<number, string> = {
  [DT.FLOAT]: 'float32',
  [DT.DOUBLE]: 'float64',
  [DT.FLOAT16]: 'float16',
  [DT.BFLOAT16]: 'bfloat16',
  [DT.INT64]: 'int64',
  [DT.INT32]: 'int32',
  [DT.INT16]: 'int16',
  [DT.INT8]: 'int8',
  [DT.UINT8]: 'uint8',
  [DT.UINT16]: 'uint16',
  [DT.UINT32]: 'uint32',
  [DT.UINT64]: 'uint64',
  [DT.BOOL]: 'bool',
  [DT.STRING]: 'string',
};

/** Bytes per element of the fixed-size types (strings have none: undefined). */
const ELEMENT_BYTES: Partial<Record<number, number>> = {
  [DT.FLOAT]: 4,
  [DT.DOUBLE]: 8,
  [DT.FLOAT16]: 2,
  [DT.BFLOAT16]: 2,
  [DT.INT64]: 8,
  [DT.INT32]: 4,
  [DT.INT16]: 2,
  [DT.INT8]: 1,
  [DT.UINT8]: 1,
  [DT.UINT16]: 2,
  [DT.UINT32]: 4,
  [DT.UINT64]: 8,
  [DT.BOOL]: 1,
  [DT.COMPLEX64]: 8,
  [DT.COMPLEX128]: 16,
};

export function elementBytes(dt: number): number | undefined {
  return ELEMENT_BYTES[dt];
}

export function dataTypeName(dt: number): string {
  return NAMES[dt] ?? `dtype#${dt}`;
}

/** Float types gradients can flow through. */
export function isFloatType(dt: number): boolean {
  return dt === DT.FLOAT || dt === DT.DOUBLE || dt === DT.FLOAT16 || dt === DT.BFLOAT16;
}

/** onnxruntime-common's tensor type string for an ONNX data type. */
export function ortTypeName(dt: number): string {
  switch (dt) {
    case DT.FLOAT:
      return 'float32';
    case DT.DOUBLE:
      return 'float64';
    case DT.FLOAT16:
      return 'float16';
    case DT.INT64:
      return 'int64';
    case DT.INT32:
      return 'int32';
    case DT.INT16:
      return 'int16';
    case DT.INT8:
      return 'int8';
    case DT.UINT8:
      return 'uint8';
    case DT.UINT16:
      return 'uint16';
    case DT.UINT32:
      return 'uint32';
    case DT.UINT64:
      return 'uint64';
    case DT.BOOL:
      return 'bool';
    case DT.STRING:
      return 'string';
    default:
      throw new Error(`no onnxruntime tensor type for ONNX data type ${dataTypeName(dt)}`);
  }
}

export function dataTypeFromOrt(type: string): number {
  switch (type) {
    case 'float32':
      return DT.FLOAT;
    case 'float64':
      return DT.DOUBLE;
    case 'float16':
      return DT.FLOAT16;
    case 'int64':
      return DT.INT64;
    case 'int32':
      return DT.INT32;
    case 'int16':
      return DT.INT16;
    case 'int8':
      return DT.INT8;
    case 'uint8':
      return DT.UINT8;
    case 'uint16':
      return DT.UINT16;
    case 'uint32':
      return DT.UINT32;
    case 'uint64':
      return DT.UINT64;
    case 'bool':
      return DT.BOOL;
    case 'string':
      return DT.STRING;
    default:
      return DT.UNDEFINED;
  }
}
