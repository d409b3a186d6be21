import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProto_DataLocation,
  TensorProtoSchema,
} from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { OnnxModel } from '../model/onnx-model.js';
import { DataType as DT } from './dtypes.js';
import type { Graph } from './graph.js';
import { parseModel, serializeModel } from './model.js';
import { decodeTensor, encodeTensor } from './tensor-proto.js';

test('decodeTensor: zero-element tensors of every data type decode to empty arrays, also when marked external', () => {
  const types = [
    DT.FLOAT,
    DT.DOUBLE,
    DT.FLOAT16,
    DT.BFLOAT16,
    DT.INT64,
    DT.INT32,
    DT.INT16,
    DT.INT8,
    DT.UINT8,
    DT.UINT16,
    DT.UINT32,
    DT.UINT64,
    DT.BOOL,
    DT.STRING,
  ];
  for (const dataType of types) {
    for (const dims of [[0n], [2n, 0n, 3n]]) {
      for (const dataLocation of [TensorProto_DataLocation.DEFAULT, TensorProto_DataLocation.EXTERNAL]) {
        const t = decodeTensor(create(TensorProtoSchema, { name: 'roi', dataType, dims, dataLocation }));
        assert.equal(t.data.length, 0, `type ${dataType}`);
        assert.deepEqual(t.dims, dims.map(Number));
      }
    }
  }
  assert.equal(decodeTensor(create(TensorProtoSchema, { dataType: DT.FLOAT16, dims: [0n] })).dataType, DT.FLOAT, 'float16 decodes as float32, empty or not');
});

test('decodeTensor: raw data of the wrong length and negative dims are errors that name the tensor', () => {
  const short = create(TensorProtoSchema, { name: 'w', dataType: DT.FLOAT, dims: [3n], rawData: new Uint8Array(10) });
  assert.throws(
    () => decodeTensor(short),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_onnx' && /'w' has 10 bytes .* need 12/.test(e.message),
  );
  const negative = create(TensorProtoSchema, { name: 'v', dataType: DT.FLOAT, dims: [-1n] });
  assert.throws(
    () => decodeTensor(negative),
    (e: unknown) => e instanceof GibbonError && /'v' has invalid dims \[-1\]/.test(e.message),
  );
});

test('decodeTensor: bfloat16 is the top half of a float32', () => {
  const f = Float32Array.of(1.5, -2.25, 65536, 3.0e10);
  const top = Uint16Array.from(new Uint32Array(f.buffer), (u) => u >>> 16);
  const t = decodeTensor(create(TensorProtoSchema, { dataType: DT.BFLOAT16, dims: [4n], rawData: new Uint8Array(top.buffer) }));
  assert.equal(t.dataType, DT.FLOAT);
  assert.deepEqual(Array.from(t.data as Float32Array).slice(0, 3), [1.5, -2.25, 65536]);
  const big = t.data[3] as number;
  assert.ok(big <= 3.0e10 && (3.0e10 - big) / 3.0e10 < 1 / 128, `bfloat16 truncates to 8 bits of mantissa (${big})`);
});

test('a model whose Resize has an empty roi Constant loads and is differentiated', async () => {
  const roi = encodeTensor('', DT.FLOAT, [0], new Float32Array(0));
  const scales = encodeTensor('scales', DT.FLOAT, [4], Float32Array.of(1, 1, 2, 2));
  const w = encodeTensor(
    'w',
    DT.FLOAT,
    [3, 16],
    Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)),
  );
  const graph: Graph = {
    name: 'resize',
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: ['N', 1, 2, 2] }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['N', 3] }],
    initializers: new Map([
      ['scales', scales],
      ['w', w],
    ]),
    valueInfo: [],
    nodes: [
      {
        name: 'roi',
        opType: 'Constant',
        domain: '',
        inputs: [],
        outputs: ['roi'],
        attributes: [create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t: roi })],
      },
      {
        name: 'up',
        opType: 'Resize',
        domain: '',
        inputs: ['x', 'roi', 'scales'],
        outputs: ['up'],
        attributes: [create(AttributeProtoSchema, { name: 'mode', type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode('nearest') })],
      },
      { name: 'flat', opType: 'Flatten', domain: '', inputs: ['up'], outputs: ['flat'], attributes: [] },
      {
        name: 'fc',
        opType: 'Gemm',
        domain: '',
        inputs: ['flat', 'w'],
        outputs: ['logits'],
        attributes: [create(AttributeProtoSchema, { name: 'transB', type: AttributeProto_AttributeType.INT, i: 1n })],
      },
    ],
  };
  const proto = create(ModelProtoSchema, { irVersion: 7n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })] });
  const model = await OnnxModel.load(parseModel(serializeModel({ proto, graph, opset: 13 })), { threads: 1 });
  try {
    const x = { data: Float32Array.of(0.1, 0.9, 0.4, 0.6), shape: [1, 1, 2, 2] };
    const { grad } = await model.lossAndGrad(x, [2], 'ce');
    // Nearest upsampling by 2 sends each input pixel to 4 outputs: its gradient sums theirs.
    assert.equal(grad.data.length, 4);
    assert.ok(grad.data.some((v) => v !== 0));
    const h = 1e-2;
    const loss = async (k: number, d: number): Promise<number> => {
      const xp = { data: Float32Array.from(x.data), shape: x.shape };
      xp.data[k]! += d;
      return (await model.lossAndGrad(xp, [2], 'ce')).loss[0]!;
    };
    for (let k = 0; k < 4; k++) {
      const numeric = ((await loss(k, h)) - (await loss(k, -h))) / (2 * h);
      assert.ok(Math.abs(numeric - grad.data[k]!) < 2e-3, `pixel ${k}: ${grad.data[k]} vs finite differences ${numeric}`);
    }
  } finally {
    await model.dispose();
  }
});
