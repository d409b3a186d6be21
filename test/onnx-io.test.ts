/** ONNX reading/writing: external data, round trips, and errors that name the file or node. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation } from 'onnx-buf';
import { GibbonError } from '../src/errors.js';
import { loadModel, parseModel, toModelProto } from '../src/onnx/model.js';
import { OnnxModel } from '../src/model/onnx-model.js';

const MODEL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'reference', 'mnist_cnn', 'mnist_cnn.onnx');

test('external-data tensors are loaded (location, offset, length)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-ext-'));
  const ir = loadModel(MODEL);
  const proto = toModelProto(ir);
  const chunks: Buffer[] = [Buffer.alloc(16, 7)]; // junk first, so offsets matter
  let offset = 16;
  for (const t of proto.graph!.initializer) {
    const raw = Buffer.from(t.rawData);
    chunks.push(raw);
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: 'weights.bin' }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(raw.length) }),
    ];
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    offset += raw.length;
  }
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(chunks));
  const path = join(dir, 'model.onnx');
  writeFileSync(path, toBinary(ModelProtoSchema, proto));
  assert.ok(readFileSync(path).length < 10_000, 'weights really are external');

  const a = await OnnxModel.load(MODEL, { threads: 1 });
  const b = await OnnxModel.load(path, { threads: 1 });
  const x = { data: Float32Array.from({ length: 3 * 784 }, (_, i) => (i % 97) / 97), shape: [3, 1, 28, 28] };
  assert.deepEqual([...(await b.logits(x)).data], [...(await a.logits(x)).data]);
  await a.dispose();
  await b.dispose();
});

test('a missing external-data file is named', () => {
  const ir = loadModel(MODEL);
  const proto = toModelProto(ir);
  const t = proto.graph!.initializer[0]!;
  t.externalData = [create(StringStringEntryProtoSchema, { key: 'location', value: 'nowhere.bin' })];
  t.dataLocation = TensorProto_DataLocation.EXTERNAL;
  t.rawData = new Uint8Array(0);
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-ext-'));
  assert.throws(
    () => parseModel(toBinary(ModelProtoSchema, proto), { path: join(dir, 'm.onnx') }),
    (e: GibbonError) => e.code === 'file_not_found' && e.message.includes('nowhere.bin'),
  );
});

test('bytes that are not ONNX, and truncated models, are refused with the file named', () => {
  assert.throws(
    () => parseModel(new TextEncoder().encode('hello, I am a text file'), { path: 'notes.txt' }),
    (e: GibbonError) => e.code === 'invalid_onnx' && e.message.includes('notes.txt'),
  );
  const bytes = readFileSync(MODEL);
  assert.throws(
    () => parseModel(new Uint8Array(bytes.subarray(0, bytes.length >> 1)), { path: 'half.onnx' }),
    (e: GibbonError) => e.code === 'invalid_onnx' && e.message.includes('half.onnx'),
  );
});

test('graph errors name the node', () => {
  const proto = toModelProto(loadModel(MODEL));
  proto.graph!.node[1]!.input[0] = 'does_not_exist';
  const name = proto.graph!.node[1]!.name;
  assert.throws(
    () => parseModel(toBinary(ModelProtoSchema, proto)),
    (e: GibbonError) => e.code === 'invalid_graph' && e.message.includes(name) && e.message.includes('does_not_exist'),
  );
  const dup = toModelProto(loadModel(MODEL));
  dup.graph!.node[2]!.output[0] = dup.graph!.node[1]!.output[0]!;
  assert.throws(
    () => parseModel(toBinary(ModelProtoSchema, dup)),
    (e: GibbonError) => e.code === 'invalid_graph' && /produced by node/.test(e.message),
  );
});

test('unsupported opsets are refused', () => {
  const proto = toModelProto(loadModel(MODEL));
  proto.opsetImport[proto.opsetImport.length - 1]!.version = 7n;
  assert.throws(
    () => parseModel(toBinary(ModelProtoSchema, proto), { path: 'old.onnx' }),
    (e: GibbonError) => e.code === 'unsupported_opset' && e.message.includes('opset 7'),
  );
});

test('dynamic batch: any N runs, with batches split at batchSize', async () => {
  const m = await OnnxModel.load(MODEL, { threads: 1, batchSize: 4 });
  assert.equal(m.inputShape[0], null);
  const n = 11;
  const x = { data: Float32Array.from({ length: n * 784 }, (_, i) => ((i * 31) % 101) / 101), shape: [n, 1, 28, 28] };
  const reference = await OnnxModel.load(MODEL, { threads: 1 });
  const whole = await reference.logits(x);
  await reference.dispose();
  const split = await m.logits(x);
  for (let i = 0; i < whole.data.length; i++) assert.ok(Math.abs(whole.data[i]! - split.data[i]!) < 1e-5);
  await m.dispose();
});
