/**
 * External data: ranges read from one file (also beyond 2 GiB, in a sparse file), the location
 * confined to the model's folder after symlinks, sizes checked against the declared dims before
 * anything is read, and a model from a buffer refused.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType as DT,
} from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { valueInfoToProto } from './graph.js';
import { loadModel, parseModel } from './model.js';
import { decodeTensor, encodeTensor } from './tensor-proto.js';

const dir = mkdtempSync(join(tmpdir(), 'gibbon-external-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** y = x + C with C (float32, `n` values) in external data described by `entries`. */
function model(entries: Record<string, string>, n = 4): Uint8Array {
  const c = encodeTensor('C', DT.FLOAT, [n], new Float32Array(0));
  c.rawData = new Uint8Array(0);
  c.dataLocation = TensorProto_DataLocation.EXTERNAL;
  c.externalData = Object.entries(entries).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
  const graph = create(GraphProtoSchema, {
    name: 'g',
    node: [create(NodeProtoSchema, { name: 'add', opType: 'Add', input: ['x', 'C'], output: ['y'] })],
    input: [valueInfoToProto({ name: 'x', dataType: DT.FLOAT, shape: [n] })],
    output: [valueInfoToProto({ name: 'y', dataType: DT.FLOAT, shape: [n] })],
    initializer: [c],
  });
  return toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { version: 13n })], graph }));
}

function save(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const constant = (path: string): number[] => [...(decodeTensor(loadModel(path).graph.initializers.get('C')!).data as Float32Array)];

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof GibbonError && pattern.test(e.message));
}

test('a range of a file is read, at its offset', () => {
  writeFileSync(join(dir, 'w.bin'), new Uint8Array([9, 9, 9, ...new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer)]));
  assert.deepEqual(constant(save('ok.onnx', model({ location: 'w.bin', offset: '3', length: '16' }))), [1, 2, 3, 4]);
});

test('offsets beyond 2 GiB are read (sparse 3 GiB file)', () => {
  const path = join(dir, 'big.bin');
  const fd = openSync(path, 'w');
  const offset = 2 ** 31 + 4096 + 3;
  try {
    ftruncateSync(fd, 3 * 2 ** 30);
    writeSync(fd, new Uint8Array(Float32Array.of(5, 6, 7, 8).buffer), 0, 16, offset);
  } finally {
    closeSync(fd);
  }
  assert.deepEqual(constant(save('big.onnx', model({ location: 'big.bin', offset: String(offset), length: '16' }))), [5, 6, 7, 8]);
});

test('locations outside the folder are refused, also through symlinks', () => {
  // The model lives in dir/inner; dir/secret.bin is outside its folder.
  const inner = join(dir, 'inner');
  mkdirSync(inner);
  writeFileSync(join(dir, 'secret.bin'), new Uint8Array(16));
  symlinkSync('../secret.bin', join(inner, 'out.bin'));
  symlinkSync('..', join(inner, 'up'));
  for (const location of ['../secret.bin', join(dir, 'secret.bin'), 'out.bin', 'a/../../secret.bin', 'up/secret.bin']) {
    const path = join(inner, 'm.onnx');
    writeFileSync(path, model({ location, length: '16' }));
    refused(() => loadModel(path), /inside the model's folder/);
  }
});

test('lengths and offsets are checked against the declared dims before reading', () => {
  writeFileSync(join(dir, 'w16.bin'), new Uint8Array(16));
  refused(() => loadModel(save('len.onnx', model({ location: 'w16.bin', length: '12' }))), /length 12 does not match/);
  refused(() => loadModel(save('off.onnx', model({ location: 'w16.bin', offset: '8', length: '16' }))), /runs past the end/);
  refused(() => loadModel(save('neg.onnx', model({ location: 'w16.bin', offset: '-1' }))), /offset '-1'/);
  refused(() => loadModel(save('dims.onnx', model({ location: 'w16.bin' }, 2 ** 40))), /more than one tensor can hold|length/);
});

test('a model from a buffer with external data is refused', () => {
  refused(() => parseModel(model({ location: 'w.bin', length: '16' })), /not read from a file/);
});
