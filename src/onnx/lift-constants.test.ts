import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { AttributeProto_AttributeType, AttributeProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { OnnxModel } from '../model/onnx-model.js';
import { readNpy, toFloat32 } from '../tensor/npy.js';
import { train } from '../training/trainer.js';
import { trainableInitializers } from '../autodiff/gradient-graph.js';
import { DataType as DT } from './dtypes.js';
import type { Graph, Node } from './graph.js';
import { liftConstantWeights } from './lift-constants.js';
import { loadModel, parseModel, serializeModel, type ModelIR } from './model.js';
import { decodeTensor, encodeTensor } from './tensor-proto.js';

const ZOO = 'test/fixtures/zoo/constant_weights_op11.onnx';
const REFERENCE = 'test/fixtures/lift/constant_weights_initializers.onnx';

function constantNode(name: string, dims: number[], values: number[]): Node {
  const t = encodeTensor('', DT.FLOAT, dims, Float32Array.from(values));
  return {
    name: `const_${name}`,
    opType: 'Constant',
    domain: '',
    inputs: [],
    outputs: [name],
    attributes: [create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t })],
  };
}
const node = (opType: string, inputs: string[], output: string): Node => ({ name: output, opType, domain: '', inputs, outputs: [output], attributes: [] });

test('liftConstantWeights: weights, biases after linear ops become initializers; Resize scales and input normalisation stay Constant nodes', () => {
  const g: Graph = {
    name: 'g',
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: [null, 1, 2, 2] }],
    outputs: [{ name: 'y', dataType: DT.FLOAT, shape: null }],
    initializers: new Map(),
    valueInfo: [],
    nodes: [
      constantNode('mean', [1, 1, 1, 1], [0.5]),
      constantNode('scales', [4], [1, 1, 2, 2]),
      constantNode(
        'W',
        [16, 3],
        Array.from({ length: 48 }, (_, i) => i / 48),
      ),
      constantNode('b', [3], [0.1, 0.2, 0.3]),
      node('Sub', ['x', 'mean'], 'centred'),
      { ...node('Resize', ['centred', '', 'scales'], 'up'), attributes: [] },
      node('Flatten', ['up'], 'flat'),
      node('MatMul', ['flat', 'W'], 'mm'),
      node('Add', ['mm', 'b'], 'y'),
    ],
  };
  const { graph, lifted } = liftConstantWeights(g);
  assert.deepEqual(lifted, ['W', 'b']);
  assert.deepEqual([...graph.initializers.keys()], ['W', 'b']);
  assert.deepEqual(
    graph.nodes.filter((n) => n.opType === 'Constant').map((n) => n.outputs[0]),
    ['mean', 'scales'],
  );
  assert.deepEqual(Array.from(decodeTensor(graph.initializers.get('b')!).data as Float32Array), Array.from(Float32Array.of(0.1, 0.2, 0.3)));
  assert.equal(g.nodes.length, 9, 'the input graph is left as it was');
  const model: ModelIR = {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })] }),
    graph: g,
    opset: 13,
  };
  assert.deepEqual(trainableInitializers(parseModel(serializeModel(model))), ['W', 'b']);
});

test('constant_weights_op11 (weights in Constant nodes): --wrt params gradients equal those of the same model with initializers', async () => {
  const x = readNpy('test/fixtures/zoo/constant_weights_op11.x.npy');
  const xs = { data: toFloat32(x), shape: x.shape };
  const labels = [0, 3, 5];
  const lifted = await OnnxModel.load(ZOO, { threads: 1 });
  const reference = await OnnxModel.load(REFERENCE, { threads: 1 });
  try {
    const a = await lifted.paramGrads(xs, labels, 'ce');
    const b = await reference.paramGrads(xs, labels, 'ce');
    assert.deepEqual([...a.grads.keys()].sort(), ['c1.bias', 'c1.weight', 'c2.bias', 'c2.weight', 'fc.bias', 'fc.weight']);
    assert.deepEqual([...a.grads.keys()].sort(), [...b.grads.keys()].sort());
    for (const [name, g] of a.grads) {
      const r = b.grads.get(name)!;
      assert.deepEqual(g.shape, r.shape);
      let nonzero = 0;
      for (let i = 0; i < g.data.length; i++) {
        assert.ok(Math.abs(g.data[i]! - r.data[i]!) <= 1e-6 + 1e-5 * Math.abs(r.data[i]!), `${name}[${i}]: ${g.data[i]} vs ${r.data[i]}`);
        if (g.data[i] !== 0) nonzero++;
      }
      assert.ok(nonzero > 0, `${name} has a nonzero gradient`);
    }
  } finally {
    await lifted.dispose();
    await reference.dispose();
  }
});

test('constant_weights_op11: fine-tuning lowers the loss and changes the weights held by Constant nodes', async () => {
  const source = loadModel(ZOO);
  const n = 48;
  let s = 11;
  const random = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const data = {
    x: Float32Array.from({ length: n * 3 * 16 * 16 }, random),
    y: Int32Array.from({ length: n }, (_, i) => i % 6),
    n,
    shape: [3, 16, 16],
    source: 'random',
  };
  const result = await train(source, data, undefined, {
    method: 'standard',
    epochs: 4,
    batchSize: 16,
    lr: 0.05,
    optimizer: { type: 'adam' },
    threads: 1,
    seed: 3,
  });
  const losses = result.history.map((h) => h.loss);
  assert.ok(losses[losses.length - 1]! < losses[0]! - 0.05, `loss per epoch ${losses.map((l) => l.toFixed(3))}`);
  for (const name of ['c1.weight', 'c2.weight', 'fc.weight', 'fc.bias']) {
    const before = decodeTensor(source.graph.initializers.get(name)!).data;
    const after = decodeTensor(result.model.graph.initializers.get(name)!).data;
    assert.notDeepEqual(Array.from(after as Float32Array), Array.from(before as Float32Array), `${name} was trained`);
  }
});
