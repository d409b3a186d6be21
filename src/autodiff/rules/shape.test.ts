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
import type { AnyTensor } from '../../tensor/tensor.js';
import { gradOutputName } from '../gradient-graph.js';
import { gradCheck, type GradCheckInput } from '../testing/gradcheck.js';
import { buildVjpGraph, cotangentInputName } from '../vjp-graph.js';

const i64 = (data: readonly number[], shape: readonly number[] = [data.length]): GradCheckInput => ({ shape, data, type: 'int64' });
const omitted: GradCheckInput = { shape: [], omitted: true };
const count = (shape: readonly number[]): number => shape.reduce((a, c) => a * c, 1);
/** Deterministic values with |v| in [0.2, 1.2): away from 0, where |x| and sign(x) have kinks. */
const signed = (shape: readonly number[]): GradCheckInput => ({
  shape,
  data: Array.from({ length: count(shape) }, (_, i) => (i % 2 ? -1 : 1) * (0.2 + ((i * 0.618) % 1))),
});
/** Stands in for INT64_MAX ("to the end"), which a JS number cannot hold exactly. */
const END = 2 ** 62;

test('Reshape, Transpose and Expand', async () => {
  await gradCheck({ opType: 'Reshape', inputs: [{ shape: [2, 3, 4] }, i64([0, -1, 2])] });
  await gradCheck({ opType: 'Transpose', attrs: { perm: [2, 0, 1] }, inputs: [{ shape: [2, 3, 4] }] });
  const r = await gradCheck({ opType: 'Transpose', inputs: [{ shape: [2, 3, 4] }] });
  assert.equal(r.checked, 24);
  // Both a missing leading axis and a unit axis are broadcast.
  await gradCheck({ opType: 'Expand', inputs: [{ shape: [3, 1] }, i64([2, 3, 4])] });
  await gradCheck({ opType: 'Expand', inputs: [{ shape: [1, 4] }, i64([3, 1])] });
});

test('Concat: three inputs on axis 1, a constant one, and a negative axis', async () => {
  const r = await gradCheck({ opType: 'Concat', attrs: { axis: 1 }, inputs: [{ shape: [2, 1, 3] }, { shape: [2, 2, 3] }, { shape: [2, 3, 3] }] });
  assert.equal(r.analytic.length, 3);
  assert.deepEqual(
    r.analytic.map((g) => g.length),
    [6, 12, 18],
  );
  await gradCheck({ opType: 'Concat', attrs: { axis: -1 }, inputs: [{ shape: [2, 3] }, { shape: [2, 2], constant: true }, { shape: [2, 1] }] });
});

test('Slice: steps −1 and 2, negative and clamped bounds, negative axes', async () => {
  const x = { shape: [4, 5, 6] };
  // Each case also states how many X elements it reads: exactly those get a (non-zero) gradient.
  const slice = async (reads: number, starts: number[], ends: number[], axes?: number[], steps?: number[]): Promise<void> => {
    const r = await gradCheck({ opType: 'Slice', inputs: [x, i64(starts), i64(ends), axes ? i64(axes) : omitted, steps ? i64(steps) : omitted] });
    assert.equal(r.analytic[0]!.filter((v) => v !== 0).length, reads, `Slice ${starts} ${ends} ${axes} ${steps}`);
  };
  await slice(2 * 5 * 4, [1, -4], [3, 100], [0, -1]); // plain crop, end clamped
  await slice(120, [-1], [-END], [1], [-1]); // full reversal
  await slice(4 * 2 * 3, [0, 1], [END, 6], [2, 1], [2, 2]); // stride 2 on two axes
  await slice(2 * 5 * 2, [4, 5], [0, -100], [2, 0], [-2, -3]); // negative strides, start and end clamped
  await slice(4 * 5 * 2, [1], [6], [-1], [3]); // stride 3: trailing gap past the end of X
  await slice(4 * 3 * 2, [-2, 3], [-5, 1], [1, 2], [-1, -1]); // two reversed axes at once
  // An empty slice has a zero gradient.
  const r = await gradCheck({ opType: 'Slice', inputs: [x, i64([3]), i64([1]), i64([0])], maxEntries: 10 });
  assert.ok(r.analytic[0]!.every((v) => v === 0));
});

test('Gather: repeated and negative indices on every axis, scalar index', async () => {
  // Row 0 gathered twice and row 3 through −1: their gradients accumulate.
  const r = await gradCheck({ opType: 'Gather', attrs: { axis: 0 }, inputs: [{ shape: [4, 3] }, i64([0, 2, 0, -1], [2, 2])] });
  assert.equal(r.checked, 12);
  await gradCheck({ opType: 'Gather', attrs: { axis: 1 }, inputs: [{ shape: [2, 5, 3] }, i64([4, -1, 1, 1, 0, -5], [3, 2])] });
  await gradCheck({ opType: 'Gather', attrs: { axis: -1 }, inputs: [{ shape: [2, 3, 4] }, i64([3, 3, -2], [3])] });
  await gradCheck({ opType: 'Gather', attrs: { axis: 1 }, inputs: [{ shape: [3, 4] }, i64([-3], [])] });
  await gradCheck({ opType: 'Gather', attrs: { axis: 0 }, inputs: [{ shape: [3, 4] }, i64([2], [])] });
  await gradCheck({ opType: 'Gather', attrs: { axis: 0 }, inputs: [{ shape: [3, 4] }, i64([-1], [])] }); // x[-1], as PyTorch exports y[-1]
});

test('Pad: constant (negative pads, value gradient, axes), reflect, edge, wrap', async () => {
  const x = { shape: [2, 4, 5] };
  await gradCheck({ opType: 'Pad', inputs: [x, i64([0, 2, -1, 1, -1, 3]), { shape: [], data: [0.5] }] });
  await gradCheck({ opType: 'Pad', inputs: [x, i64([1, -2, 0, 2]), { shape: [], data: [0.25] }, i64([-1, 0])] });
  for (const mode of ['reflect', 'edge']) {
    await gradCheck({ opType: 'Pad', attrs: { mode }, inputs: [x, i64([0, 2, 3, 0, 3, 1])] });
    // Negative pads crop first; the other side still reflects or repeats.
    await gradCheck({ opType: 'Pad', attrs: { mode }, inputs: [x, i64([0, -1, 2, 0, 2, -1])] });
    await gradCheck({ opType: 'Pad', attrs: { mode }, inputs: [x, i64([1, 2]), omitted, i64([-1])] });
  }
  // The value is unused outside constant mode: zero gradient.
  const r = await gradCheck({ opType: 'Pad', attrs: { mode: 'edge' }, inputs: [x, i64([0, 1, 1, 0, 1, 1]), { shape: [], data: [2] }], maxEntries: 10 });
  assert.equal(r.analytic[1]![0], 0);
  // Wrapping more than a whole period at the end.
  await gradCheck({ opType: 'Pad', opset: 19, attrs: { mode: 'wrap' }, inputs: [x, i64([0, 3, 2, 0, 6, 7])] });
  await gradCheck({ opType: 'Pad', opset: 19, attrs: { mode: 'wrap' }, inputs: [x, i64([0, -1, 2, 0, 3, -1])] });
  await assert.rejects(
    gradCheck({ opType: 'Pad', opset: 19, attrs: { mode: 'wrap' }, inputs: [x, i64([0, 5, 0, 0, 0, 0])] }),
    (e: unknown) => e instanceof GibbonError && e.code === 'unsupported_attribute' && /leading pad of 5 on axis 1 of size 4/.test(e.message),
  );
});

test('Tile', async () => {
  await gradCheck({ opType: 'Tile', inputs: [{ shape: [2, 3] }, i64([2, 3])] });
  await gradCheck({ opType: 'Tile', inputs: [{ shape: [2, 1, 3] }, i64([1, 4, 1])] });
});

test('DepthToSpace (DCR and CRD) and SpaceToDepth', async () => {
  for (const mode of ['DCR', 'CRD']) {
    const r = await gradCheck({ opType: 'DepthToSpace', attrs: { blocksize: 2, mode }, inputs: [{ shape: [2, 8, 2, 3] }] });
    assert.equal(r.checked, 60);
  }
  await gradCheck({ opType: 'SpaceToDepth', attrs: { blocksize: 2 }, inputs: [{ shape: [1, 3, 4, 6] }] });
});

test('Split with outputs that do not reach the loss; Squeeze, Unsqueeze, Flatten', async () => {
  await gradCheck({ opType: 'Split', attrs: { axis: 1 }, outputs: 3, differentiateOutputs: [0, 2], inputs: [{ shape: [2, 6] }, i64([1, 3, 2])] });
  await gradCheck({ opType: 'Split', attrs: { axis: -1, num_outputs: 2 }, outputs: 2, differentiateOutputs: [1], inputs: [{ shape: [3, 4] }] });
  await gradCheck({ opType: 'Squeeze', inputs: [{ shape: [2, 1, 3, 1] }, i64([1, -1])] });
  await gradCheck({ opType: 'Unsqueeze', inputs: [{ shape: [2, 3] }, i64([0, -1])] });
  await gradCheck({ opType: 'Flatten', attrs: { axis: 2 }, inputs: [{ shape: [2, 3, 2, 2] }] });
});

test('GatherElements with repeated indices; TopK values', async () => {
  await gradCheck({ opType: 'GatherElements', attrs: { axis: 1 }, inputs: [{ shape: [2, 3] }, i64([0, 0, 2, 1, 1, -1, 2, 2], [2, 4])] });
  await gradCheck({ opType: 'TopK', attrs: { axis: -1 }, outputs: 2, differentiateOutputs: [0], inputs: [{ shape: [3, 5] }, i64([2])] });
});

test('MatMul: batched, broadcast and 1-D operands (numpy semantics)', async () => {
  const shapes: [number[], number[]][] = [
    [
      [3, 4],
      [4, 5],
    ],
    [
      [2, 3, 4],
      [4, 5],
    ],
    [[4], [2, 4, 5]],
    [
      [2, 1, 3, 4],
      [3, 4, 2],
    ],
    [
      [3, 4],
      [2, 4, 5],
    ],
    [[2, 3, 4], [4]],
    [[4], [4]],
    [[4], [4, 3]],
  ];
  for (const [a, b] of shapes) {
    const r = await gradCheck({ opType: 'MatMul', inputs: [{ shape: a }, { shape: b }] });
    assert.deepEqual(
      r.analytic.map((g) => g.length),
      [count(a), count(b)],
      `${a} x ${b}`,
    );
  }
});

test('Resize nearest: integer upscaling (asymmetric floor, half_pixel), downscaling, odd scale', async () => {
  const x = { shape: [1, 2, 3, 4] };
  const scales = (s: number[]): GradCheckInput => ({ shape: [s.length], data: s, constant: true });
  const resize = (attrs: Record<string, AttrValue>, s: GradCheckInput | null, sizes?: number[]): Promise<unknown> =>
    gradCheck({ opType: 'Resize', precision: 'float32', attrs, inputs: [x, omitted, s ?? omitted, ...(sizes ? [i64(sizes)] : [])] });
  await resize({ mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, scales([1, 1, 2, 2]));
  await resize({ mode: 'nearest' }, scales([1, 1, 2, 3]));
  await resize({ mode: 'nearest', nearest_mode: 'round_prefer_ceil' }, null, [1, 2, 2, 2]);
  await resize({ mode: 'nearest', coordinate_transformation_mode: 'align_corners', nearest_mode: 'ceil' }, null, [1, 2, 5, 7]);
  await resize({ mode: 'nearest', axes: [-1] }, scales([1.5]));
});

test('Resize linear and cubic under several coordinate modes', async () => {
  const x = { shape: [1, 2, 3, 4] };
  for (const coordinate_transformation_mode of ['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel']) {
    await gradCheck({
      opType: 'Resize',
      precision: 'float32',
      attrs: { mode: 'linear', coordinate_transformation_mode },
      inputs: [x, omitted, omitted, i64([1, 2, 5, 3])],
    });
  }
  await gradCheck({
    opType: 'Resize',
    precision: 'float32',
    attrs: { mode: 'linear' },
    inputs: [x, omitted, { shape: [4], data: [1, 1, 2, 2], constant: true }],
  });
  await gradCheck({ opType: 'Resize', precision: 'float32', attrs: { mode: 'cubic' }, inputs: [x, omitted, omitted, i64([1, 2, 6, 7])] });
  // Fractional scales (the coordinates use the given scale, not out/in), opset-19 symmetric half pixels, aspect-ratio policy.
  const fractional = { shape: [4], data: [1, 1, 1.7, 0.6], constant: true };
  await gradCheck({
    opType: 'Resize',
    precision: 'float32',
    attrs: { mode: 'cubic', coordinate_transformation_mode: 'asymmetric' },
    inputs: [x, omitted, fractional],
  });
  await gradCheck({
    opType: 'Resize',
    opset: 19,
    precision: 'float32',
    attrs: { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' },
    inputs: [x, omitted, fractional],
  });
  await gradCheck({
    opType: 'Resize',
    precision: 'float32',
    attrs: { mode: 'linear', keep_aspect_ratio_policy: 'not_larger', axes: [2, 3] },
    inputs: [x, omitted, omitted, i64([5, 5])],
  });
  await gradCheck({
    opType: 'Resize',
    precision: 'float32',
    attrs: { mode: 'cubic', exclude_outside: 1, cubic_coeff_a: float(-0.5) },
    inputs: [x, omitted, omitted, i64([1, 2, 5, 3])],
  });
  await gradCheck({
    opType: 'Resize',
    precision: 'float32',
    attrs: { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: float(0.5) },
    inputs: [x, { shape: [8], data: [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3], constant: true }, omitted, i64([1, 2, 4, 5])],
  });
});

test('Resize fails precisely on what it cannot differentiate', async () => {
  await assert.rejects(
    gradCheck({
      opType: 'Resize',
      precision: 'float32',
      attrs: { mode: 'linear', antialias: 1 },
      inputs: [{ shape: [1, 1, 4, 4] }, omitted, omitted, i64([1, 1, 2, 2])],
    }),
    (e: unknown) => e instanceof GibbonError && e.code === 'unsupported_attribute' && /antialias=1 when downscaling axis 2/.test(e.message),
  );
});

test('ReduceMean, ReduceMin, ReduceSumSquare, ReduceL2, ReduceL1, ReduceLogSum, ReduceLogSumExp', async () => {
  const x = { shape: [2, 3, 4] };
  const axes = [i64([0, 2]), i64([-1]), omitted];
  for (const opType of ['ReduceMean', 'ReduceMin', 'ReduceSumSquare', 'ReduceL2', 'ReduceLogSumExp']) {
    for (const [k, a] of axes.entries()) {
      await gradCheck({ opType, attrs: { keepdims: k % 2 }, inputs: [x, a] });
    }
  }
  await gradCheck({ opType: 'ReduceL1', attrs: { keepdims: 0 }, inputs: [signed([2, 3, 4]), i64([1])] });
  await gradCheck({ opType: 'ReduceLogSum', inputs: [{ shape: [2, 3, 4], low: 0.5, high: 2 }, i64([0, 1])] });
  // noop_with_empty_axes with no axes: each element is its own group.
  for (const opType of ['ReduceSumSquare', 'ReduceL2', 'ReduceMean', 'ReduceProd']) {
    await gradCheck({ opType, attrs: { noop_with_empty_axes: 1 }, inputs: [signed([2, 3])] });
  }
});

test('ReduceProd with no, one and two zeros per group', async () => {
  await gradCheck({ opType: 'ReduceProd', inputs: [{ shape: [2, 3, 4], low: 0.5, high: 1.5 }, i64([1])] });
  // Row 0: no zero; row 1: one zero (its gradient is the product of the others); row 2: two zeros.
  const data = [0.5, -1.5, 2, 1.2, 0, 3, -0.7, 1.1, 0, 2, 0, 0.9];
  const r = await gradCheck({ opType: 'ReduceProd', attrs: { keepdims: 0 }, inputs: [{ shape: [3, 4], data }, i64([1])] });
  const g = r.analytic[0]!;
  assert.ok(g[6] === 0);
  assert.ok(g.slice(8).every((v) => v === 0));
  assert.ok(Math.abs(g[4]!) > 0.1);
});

// ---- Graphs with a batch dimension only known at run time -------------------------------------

interface BatchInput {
  shape: readonly number[];
  /** int64 constant (indices, shapes …); otherwise a float input. */
  ints?: readonly number[];
  /** float32 constant (Resize scales). */
  scales?: readonly number[];
  omitted?: boolean;
  /** The first dimension is the (symbolic) batch. */
  batch?: boolean;
}

/**
 * Checks a rule on a graph whose batch dimension is symbolic, so the rule sees null sizes:
 * the gradient of Σ c·Y against central differences, entry by entry.
 */
async function batchCheck(
  opType: string,
  attrs: Record<string, AttrValue>,
  inputs: readonly BatchInput[],
  { opset = 18, precision = 'float64' }: { opset?: number; precision?: 'float64' | 'float32' } = {},
): Promise<number> {
  const [type, h, atol, rtol] = precision === 'float64' ? ([DT.DOUBLE, 1e-4, 1e-6, 1e-4] as const) : ([DT.FLOAT, 1e-2, 2e-3, 2e-2] as const);
  const graph: Graph = { name: 'batch', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  const b = new GraphBuilder(graph, 'batch');
  const feeds: Record<string, AnyTensor> = {};
  let seed = 3;
  const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const names = inputs.map((inp, i) => {
    if (inp.omitted) return '';
    if (inp.ints) return b.int64s(inp.ints, inp.shape);
    if (inp.scales) return b.constant(DT.FLOAT, inp.shape, Float32Array.from(inp.scales));
    const name = `x${i}`;
    graph.inputs.push({ name, dataType: type, shape: inp.shape.map((d, k) => (inp.batch && k === 0 ? 'N' : d)) });
    const data = Float64Array.from({ length: count(inp.shape) }, random);
    feeds[name] = { type: precision, data: precision === 'float64' ? data : Float32Array.from(data), shape: [...inp.shape] };
    return name;
  });
  const y = b.op(opType, names, attrs);
  graph.outputs = [{ name: y, dataType: 0, shape: null }];
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })] });
  const model: ModelIR = { proto, graph: structuredClone(graph), opset };
  const wrt = Object.keys(feeds);
  const vjp = await buildVjpGraph(model, { wrt });
  const forward = await Session.create(serializeModel({ proto, graph, opset }), { threads: 1, label: `${opType} forward` });
  const backward = await Session.create(serializeModel(vjp.model), { threads: 1, label: `${opType} vjp` });
  try {
    const out = (await forward.run(feeds))[y]!;
    const c = Float64Array.from(out.data as Float64Array, random);
    const cotangent = precision === 'float64' ? c : Float32Array.from(c);
    const grads = await backward.run({ ...feeds, [cotangentInputName(y)]: { type: precision, data: cotangent, shape: out.shape } });
    const objective = async (): Promise<number> => {
      const v = (await forward.run(feeds))[y]!.data as Float64Array | Float32Array;
      let s = 0;
      for (let k = 0; k < c.length; k++) s += v[k]! * c[k]!;
      return s;
    };
    let checked = 0;
    for (const w of wrt) {
      const g = grads[gradOutputName(w)]!.data as Float64Array | Float32Array;
      const x = feeds[w]!.data as Float64Array | Float32Array;
      for (let p = 0; p < x.length; p++) {
        const orig = x[p]!;
        x[p] = orig + h;
        const up = await objective();
        x[p] = orig - h;
        const down = await objective();
        x[p] = orig;
        const numeric = (up - down) / (2 * h);
        assert.ok(Math.abs(g[p]! - numeric) <= atol + rtol * Math.abs(numeric), `${opType}: d/d${w}[${p}] ${g[p]} vs ${numeric}`);
        checked++;
      }
    }
    return checked;
  } finally {
    await forward.dispose();
    await backward.dispose();
  }
}

test('rules with a batch dimension known only at run time', async () => {
  const bx = (...rest: number[]): BatchInput => ({ shape: [3, ...rest], batch: true });
  const ints = (v: number[], shape = [v.length]): BatchInput => ({ shape, ints: v });
  assert.equal(await batchCheck('Reshape', {}, [bx(2, 3), ints([-1, 6])]), 18);
  await batchCheck('Concat', { axis: 0 }, [bx(2), bx(2)]);
  await batchCheck('Slice', {}, [bx(4), ints([1]), ints([END]), ints([0])]);
  await batchCheck('Slice', {}, [bx(4), ints([-2, 3]), ints([END, 0]), ints([0, 1]), ints([1, -2])]);
  await batchCheck('Slice', {}, [bx(7), ints([1]), ints([7]), ints([1]), ints([2])]);
  await batchCheck('Gather', { axis: 1 }, [bx(5), ints([4, -1, 4], [3])]);
  await batchCheck('Gather', { axis: 0 }, [bx(2), ints([1, -1], [2])]);
  await batchCheck('Tile', {}, [bx(2), ints([2, 2])]);
  await batchCheck('MatMul', {}, [bx(2, 4), { shape: [4, 3] }]);
  await batchCheck('Expand', {}, [bx(1, 4), ints([1, 3, 4])]);
  await batchCheck('ReduceMean', { keepdims: 0 }, [bx(4), ints([0])]);
  await batchCheck('Pad', { mode: 'edge' }, [bx(4), ints([0, 2, 0, 1])]);
  await batchCheck('Pad', { mode: 'wrap' }, [bx(2, 3), ints([0, 0, 2, 0, 0, 4])], { opset: 19 });
  const none: BatchInput = { shape: [], omitted: true };
  const float32 = { precision: 'float32' } as const;
  await batchCheck('Resize', { mode: 'nearest' }, [bx(1, 2, 2), none, { shape: [4], scales: [1, 1, 2, 3] }], float32);
  await batchCheck('Resize', { mode: 'linear' }, [bx(1, 2, 2), none, { shape: [4], scales: [1, 1, 2, 1.5] }], float32);
});
