import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../../errors.js';
import { float, type AttrValue } from '../../onnx/attributes.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import { serializeModel, type ModelIR } from '../../onnx/model.js';
import { Session } from '../../runtime/session.js';
import { gradOutputName } from '../gradient-graph.js';
import { createVjpRegistry } from '../registry.js';
import { gradCheck, type GradCheckInput } from '../testing/gradcheck.js';
import { buildVjpGraph, cotangentInputName } from '../vjp-graph.js';
import { ALL_RULES } from './index.js';
import { maxPoolVjpWith, type MaxPoolFormulation } from './MaxPool.js';

const count = (shape: readonly number[]): number => shape.reduce((a, c) => a * c, 1);

/** Distinct values (a scrambled ramp in [-0.5, 0.5)), so every window has one strict maximum and finite differences are valid. */
function distinct(shape: readonly number[]): GradCheckInput {
  const n = count(shape);
  const step = [7919, 7907, 7901].find((p) => n % p !== 0)!; // coprime with n: a permutation
  return { shape, data: Array.from({ length: n }, (_, i) => ((i * step) % n) / n - 0.5) };
}

/** One pool node y = op(x) (batch dimension symbolic, as in attack graphs) and its VJP graph, with a chosen MaxPool formulation. */
async function poolVjp(
  opType: string,
  attrs: Record<string, AttrValue>,
  xShape: readonly number[],
  dataType: number,
  formulation?: MaxPoolFormulation,
): Promise<{ model: ModelIR; y: string; vjp: Awaited<ReturnType<typeof buildVjpGraph>> }> {
  const graph: Graph = {
    name: 'pool',
    nodes: [],
    inputs: [{ name: 'x', dataType, shape: ['N', ...xShape.slice(1)] }],
    outputs: [],
    initializers: new Map(),
    valueInfo: [],
  };
  const y = new GraphBuilder(graph, 't').op(opType, ['x'], attrs);
  graph.outputs.push({ name: y, dataType, shape: null });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  const registry = formulation ? createVjpRegistry([...ALL_RULES.filter((r) => r.opType !== 'MaxPool'), maxPoolVjpWith(formulation)]) : undefined;
  const model: ModelIR = { proto, graph, opset: 18 };
  return { model, y, vjp: await buildVjpGraph(model, { wrt: ['x'], registry }) };
}

/**
 * The analytic gradient of one pooling node for given X and dY, with the batch axis symbolic (as
 * in attack graphs) and, for MaxPool, a chosen formulation.
 */
async function poolGrad(
  opType: string,
  attrs: Record<string, AttrValue>,
  xShape: number[],
  x: number[],
  dy: number[],
  options: { formulation?: MaxPoolFormulation; type?: 'float64' | 'float32' } = {},
): Promise<number[]> {
  const type = options.type ?? 'float64';
  const array = (v: number[]): Float64Array | Float32Array => (type === 'float64' ? Float64Array.from(v) : Float32Array.from(v));
  const dataType = type === 'float64' ? DT.DOUBLE : DT.FLOAT;
  const { model, y, vjp } = await poolVjp(opType, attrs, xShape, dataType, options.formulation);
  const forward = await Session.create(serializeModel(model), { threads: 1 });
  const backward = await Session.create(serializeModel(vjp.model), { threads: 1 });
  try {
    const feeds = { x: { type, data: array(x), shape: xShape } };
    const yShape = (await forward.run(feeds))[y]!.shape;
    assert.equal(count(yShape), dy.length, `dY has ${dy.length} values but Y is [${yShape}]`);
    const out = await backward.run({ ...feeds, [cotangentInputName(y)]: { type, data: array(dy), shape: yShape } });
    return Array.from(out[gradOutputName('x')]!.data as Float64Array | Float32Array);
  } finally {
    await forward.dispose();
    await backward.dispose();
  }
}

/**
 * The fast MaxPool gradients ('unpool', the default, and 'tiles') run in float32 only, so most MaxPool checks are float32,
 * with a step below the spacing of the distinct values so no maximum changes place.
 */
const pool32 = { precision: 'float32', step: 1e-3, atol: 1e-3, rtol: 1e-2 } as const;

test('MaxPool 2x2 stride 2 (unpool), even and odd sizes; float64 falls back to indices', async () => {
  const attrs = { kernel_shape: [2, 2], strides: [2, 2] };
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs, inputs: [distinct([2, 3, 4, 6])] });
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs, inputs: [distinct([2, 2, 5, 7])] });
  await gradCheck({ opType: 'MaxPool', attrs, inputs: [distinct([2, 3, 4, 6])] });
});

test('MaxPool 3x3 stride 2 pads 1 (overlapping windows)', async () => {
  await gradCheck({ opType: 'MaxPool', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, inputs: [distinct([2, 2, 7, 6])] });
});

test('MaxPool ceil_mode, on tiles and on overlapping windows', async () => {
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, inputs: [distinct([1, 2, 5, 7])] });
  await gradCheck({ opType: 'MaxPool', attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, inputs: [distinct([1, 2, 6, 8])] });
});

test('MaxPool dilation, rectangular and gapped windows, SAME padding, 1-D and 3-D', async () => {
  await gradCheck({ opType: 'MaxPool', attrs: { kernel_shape: [2, 2], dilations: [2, 2] }, inputs: [distinct([1, 2, 5, 6])] });
  // Dilated but still disjoint windows (span 3 ≤ stride 3): tiles with gaps inside the window.
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs: { kernel_shape: [2, 2], dilations: [2, 2], strides: [3, 3] }, inputs: [distinct([1, 2, 7, 6])] });
  // Tiles that are not square, with pads; tiles longer than the window (stride 3, kernel 2).
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs: { kernel_shape: [2, 3], strides: [2, 3], pads: [1, 0, 0, 2] }, inputs: [distinct([2, 2, 5, 7])] });
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs: { kernel_shape: [2, 2], strides: [3, 3] }, inputs: [distinct([1, 2, 7, 8])] });
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs: { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_UPPER' }, inputs: [distinct([1, 2, 5, 5])] });
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs: { kernel_shape: [3], strides: [3], pads: [1, 1] }, inputs: [distinct([2, 3, 10])] });
  await gradCheck({ opType: 'MaxPool', attrs: { kernel_shape: [3], strides: [2] }, inputs: [distinct([2, 3, 9])] });
  await gradCheck({ ...pool32, opType: 'MaxPool', attrs: { kernel_shape: [2, 2, 2], strides: [2, 2, 2] }, inputs: [distinct([1, 2, 4, 4, 5])] });
});

test('MaxPool ties: each window gives its gradient to its first maximum only, in every formulation', async () => {
  // Windows of a 4x4 image: [1 1; 1 0] → (0,0); [0 2; 2 2] → (0,3); all 3 → (2,0) and (2,2).
  const x = [1, 1, 0, 2, 1, 0, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
  const expected = [1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0];
  for (const f of ['auto', 'unpool', 'tiles', 'indices'] as const) {
    const g = await poolGrad('MaxPool', { kernel_shape: [2, 2], strides: [2, 2] }, [1, 1, 4, 4], x, [1, 2, 3, 4], { formulation: f, type: 'float32' });
    assert.deepEqual(
      g.map((v) => v + 0),
      expected,
      `formulation '${f}'`,
    );
  }
  // Overlapping 3x3 s2 p1 windows over a constant 5x5 image: window (i, j) picks its top-left input cell.
  const g = await poolGrad(
    'MaxPool',
    { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    [1, 1, 5, 5],
    new Array<number>(25).fill(0),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const want = new Array<number>(25).fill(0);
  [0, 1, 3].forEach((r, i) =>
    [0, 1, 3].forEach((c, j) => {
      want[r * 5 + c] = 1 + 3 * i + j;
    }),
  );
  assert.deepEqual(g, want);
});

test('MaxPool formulations agree with each other on batch-dependent inputs', async () => {
  const shape = [3, 2, 6, 8];
  const { data } = distinct(shape);
  const dy = Array.from({ length: 3 * 2 * 3 * 4 }, (_, i) => (i % 7) - 3);
  const results = [];
  for (const f of ['unpool', 'tiles', 'indices'] as const) {
    const g = await poolGrad('MaxPool', { kernel_shape: [2, 2], strides: [2, 2] }, shape, [...data!], dy, { formulation: f, type: 'float32' });
    results.push(g.map((v) => v + 0)); // 0·(−3) is −0 in 'tiles'
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
  assert.equal(results[0]!.filter((v) => v !== 0).length, dy.filter((v) => v !== 0).length);
});

test('MaxPool: planes beyond 2^24 cells are routed by Resize (float32 offsets would not be exact), smaller ones by MaxUnpool', async () => {
  const opsFor = async (side: number): Promise<string[]> => {
    const { vjp } = await poolVjp('MaxPool', { kernel_shape: [2, 2], strides: [64, 64] }, [1, 1, side, side], DT.FLOAT);
    return vjp.model.graph.nodes.map((n) => n.opType);
  };
  const small = await opsFor(4096); // 2^24 cells: exact
  assert.ok(small.includes('MaxUnpool') && !small.includes('Resize'), `4096²: ${small.join(' ')}`);
  const large = await opsFor(4160); // a 4160² grid: more than 2^24 cells
  assert.ok(large.includes('Resize') && !large.includes('MaxUnpool'), `4160²: ${large.join(' ')}`);
});

test('MaxPool: forcing tiles on overlapping windows or on float64 is refused', async () => {
  const refused = (what: RegExp) => (e: unknown) => e instanceof GibbonError && e.code === 'unsupported_attribute' && what.test(e.message);
  const zeros = new Array<number>(25).fill(0);
  await assert.rejects(
    poolGrad('MaxPool', { kernel_shape: [3, 3], strides: [2, 2] }, [1, 1, 5, 5], zeros, [1, 2, 3, 4], { formulation: 'tiles', type: 'float32' }),
    refused(/overlapping/),
  );
  await assert.rejects(
    poolGrad('MaxPool', { kernel_shape: [2, 2], strides: [2, 2] }, [1, 1, 4, 4], zeros.slice(0, 16), [1, 2, 3, 4], { formulation: 'tiles' }),
    refused(/float32/),
  );
  await assert.rejects(
    poolGrad('MaxPool', { kernel_shape: [3, 3], strides: [2, 2] }, [1, 1, 5, 5], zeros, [1, 2, 3, 4], { formulation: 'unpool', type: 'float32' }),
    refused(/'unpool' with overlapping/),
  );
});

/** onnxruntime has AveragePool, the global pools and InstanceNormalization in float32 only. */
const f32 = { precision: 'float32', step: 1e-2, atol: 1e-3, rtol: 1e-2 } as const;

test('AveragePool: count_include_pad 0 and 1 with pads, ceil_mode, dilation, SAME padding, 1-D and 3-D', async () => {
  await gradCheck({ ...f32, opType: 'AveragePool', attrs: { kernel_shape: [2, 2], strides: [2, 2] }, inputs: [{ shape: [2, 3, 4, 6] }] });
  for (const countIncludePad of [0, 1]) {
    await gradCheck({
      ...f32,
      opType: 'AveragePool',
      attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: countIncludePad },
      inputs: [{ shape: [2, 2, 7, 6] }],
    });
    await gradCheck({
      ...f32,
      opType: 'AveragePool',
      attrs: { kernel_shape: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1], ceil_mode: 1, count_include_pad: countIncludePad },
      inputs: [{ shape: [1, 2, 6, 7] }],
    });
  }
  await gradCheck({
    ...f32,
    opType: 'AveragePool',
    opset: 19,
    attrs: { kernel_shape: [2], dilations: [2], strides: [1], pads: [1, 1] },
    inputs: [{ shape: [2, 3, 8] }],
  });
  await gradCheck({ ...f32, opType: 'AveragePool', attrs: { kernel_shape: [3, 3], auto_pad: 'SAME_LOWER' }, inputs: [{ shape: [1, 2, 4, 5] }] });
  await gradCheck({
    ...f32,
    opType: 'AveragePool',
    attrs: { kernel_shape: [2, 2, 2], strides: [2, 2, 2], pads: [1, 0, 0, 0, 1, 1] },
    inputs: [{ shape: [1, 2, 4, 4, 5] }],
  });
});

test('GlobalAveragePool and GlobalMaxPool', async () => {
  await gradCheck({ ...f32, opType: 'GlobalAveragePool', inputs: [{ shape: [2, 3, 4, 5] }] });
  // A step below the spacing of the distinct values (1/120), so no maximum changes place.
  await gradCheck({ ...f32, step: 1e-3, opType: 'GlobalMaxPool', inputs: [distinct([2, 3, 4, 5])] });
  // Ties: the first maximum in row-major order takes all of dY.
  assert.deepEqual(await poolGrad('GlobalMaxPool', {}, [1, 2, 2, 2], [0, 5, 5, 1, 2, 2, 2, 2], [10, 20], { type: 'float32' }), [0, 10, 0, 0, 20, 0, 0, 0]);
});

test('BatchNormalization (inference) with running statistics', async () => {
  const stat = (shape: number[], low: number, high: number): GradCheckInput => ({ shape, low, high, constant: true });
  await gradCheck({
    opType: 'BatchNormalization',
    attrs: { epsilon: float(1e-3) },
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [3], low: 0.5, high: 2 }, { shape: [3] }, stat([3], -0.5, 0.5), stat([3], 0.3, 2)],
  });
  // 2-D input; the running statistics differentiated too.
  await gradCheck({
    opType: 'BatchNormalization',
    inputs: [{ shape: [4, 3] }, { shape: [3], low: 0.5, high: 2 }, { shape: [3] }, { shape: [3] }, { shape: [3], low: 0.3, high: 2 }],
  });
  await assert.rejects(
    gradCheck({
      opType: 'BatchNormalization',
      attrs: { training_mode: 1 },
      outputs: 3,
      differentiateOutputs: [0],
      inputs: [{ shape: [2, 3, 4] }, { shape: [3] }, { shape: [3] }, stat([3], 0, 1), stat([3], 0.5, 1)],
    }),
    (e: unknown) => e instanceof GibbonError && e.code === 'unsupported_attribute' && /training_mode/.test(e.message),
  );
});

test('LayerNormalization over the last axis and from axis 1 of a 3-D input', async () => {
  await gradCheck({ opType: 'LayerNormalization', opset: 18, attrs: { axis: -1 }, inputs: [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [4] }] });
  await gradCheck({
    opType: 'LayerNormalization',
    opset: 18,
    attrs: { axis: 1, epsilon: float(1e-3) },
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }, { shape: [3, 4] }],
  });
  // Without B, and with the Mean and InvStdDev outputs reaching the loss: all three, or one alone.
  // onnxruntime computes those two in float32 even for float64 X, hence float32-sized tolerances.
  for (const differentiateOutputs of [[0, 1, 2], [1], [2]]) {
    await gradCheck({
      opType: 'LayerNormalization',
      attrs: { axis: -1 },
      outputs: 3,
      differentiateOutputs,
      inputs: [{ shape: [3, 5] }, { shape: [5] }],
      step: 1e-3,
      atol: 1e-3,
      rtol: 1e-2,
    });
  }
});

test('InstanceNormalization', async () => {
  await gradCheck({
    ...f32,
    opType: 'InstanceNormalization',
    attrs: { epsilon: float(1e-3) },
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [3] }, { shape: [3] }],
  });
  await gradCheck({ ...f32, opType: 'InstanceNormalization', inputs: [{ shape: [2, 3, 6] }, { shape: [3] }, { shape: [3] }] });
});
