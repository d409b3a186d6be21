import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import type { AttrValue } from '../../onnx/attributes.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import { serializeModel, type ModelIR } from '../../onnx/model.js';
import { Session } from '../../runtime/session.js';
import { GibbonError } from '../../errors.js';
import { createVjpRegistry, type VjpRegistry } from '../registry.js';
import { buildVjpGraph, cotangentInputName } from '../vjp-graph.js';
import { gradOutputName } from '../gradient-graph.js';
import { gradCheck, type GradCheckInput } from '../testing/gradcheck.js';
import { ALL_RULES } from './index.js';
import { makeConvVjp, type ConvVjpOptions } from './Conv.js';
import { makeConvTransposeVjp } from './ConvTranspose.js';
import type { WeightGradFormulation } from './conv-weight-grad.js';

// onnxruntime has Conv and ConvTranspose kernels in float32 only. Both ops are linear in each
// input, so a large finite-difference step is exact up to float32 rounding of the objective.
const f32 = { precision: 'float32', step: 0.5, atol: 2e-4, rtol: 2e-3, maxEntries: 40 } as const;

async function checkConv(
  attrs: Record<string, AttrValue>,
  x: readonly number[],
  w: readonly number[],
  bias = true,
  extra: Partial<Record<'x' | 'w', Partial<GradCheckInput>>> = {},
): Promise<void> {
  const inputs: GradCheckInput[] = [
    { shape: x, ...extra.x },
    { shape: w, ...extra.w },
  ];
  if (bias) inputs.push({ shape: [w[0]!] });
  const r = await gradCheck({ opType: 'Conv', attrs, inputs, ...f32 });
  assert.ok(r.checked >= 40, `checked ${r.checked} entries`);
}

test('Conv: stride 2 with asymmetric pads (output_padding needed on both axes)', async () => {
  // H: 7+1+2−3 = 7 and W: 6+0+1−2 = 5 are odd, so the last row/column of X is never read.
  await checkConv({ strides: [2, 2], pads: [1, 0, 2, 1] }, [2, 3, 7, 6], [4, 3, 3, 2]);
});

test('Conv: VALID with stride 3 leaves unread trailing cells', async () => {
  await checkConv({ strides: [3, 2], auto_pad: 'VALID' }, [1, 2, 8, 7], [3, 2, 3, 2]);
});

test('Conv: auto_pad SAME_UPPER and SAME_LOWER, stride 2, odd sizes, odd total padding', async () => {
  for (const autoPad of ['SAME_UPPER', 'SAME_LOWER']) {
    await checkConv({ strides: [2, 2], auto_pad: autoPad }, [2, 2, 7, 5], [3, 2, 4, 2]);
  }
});

test('Conv: SAME_UPPER and SAME_LOWER with stride 1 (flipped-conv input gradient)', async () => {
  await checkConv({ auto_pad: 'SAME_UPPER' }, [2, 4, 6, 5], [3, 4, 4, 3]);
  await checkConv({ auto_pad: 'SAME_LOWER' }, [1, 4, 5, 5], [2, 4, 2, 3]);
});

test('Conv: dilation 2, stride 1 and stride 2', async () => {
  await checkConv({ dilations: [2, 2], pads: [1, 2, 1, 0] }, [2, 4, 9, 8], [3, 4, 3, 3]);
  await checkConv({ dilations: [2, 1], strides: [2, 2], pads: [2, 1, 1, 1] }, [1, 2, 10, 7], [3, 2, 3, 2]);
});

test('Conv: group 2 and depthwise (channel multiplier 2)', async () => {
  await checkConv({ group: 2, pads: [1, 1, 1, 1] }, [2, 4, 6, 6], [6, 2, 3, 3]);
  await checkConv({ group: 2, strides: [2, 2], pads: [1, 0, 0, 1] }, [2, 4, 7, 6], [6, 2, 3, 3]);
  await checkConv({ group: 3, pads: [1, 1, 1, 1] }, [2, 3, 6, 5], [6, 1, 3, 3]);
  await checkConv({ group: 3, strides: [2, 2] }, [2, 3, 7, 6], [3, 1, 3, 3]);
});

test('Conv: no bias, few input channels (ConvTranspose input gradient at stride 1)', async () => {
  await checkConv({ pads: [1, 1, 0, 1] }, [2, 3, 5, 5], [4, 3, 3, 3], false);
});

test('Conv: 1-D and 3-D, stride 1 and 2', async () => {
  await checkConv({ strides: [2], pads: [1, 0] }, [2, 3, 10], [4, 3, 3]);
  await checkConv({ pads: [2, 1] }, [2, 4, 9], [3, 4, 4]);
  await checkConv({ strides: [1, 2, 1], pads: [1, 0, 1, 0, 1, 0] }, [1, 2, 5, 5, 4], [2, 2, 2, 3, 2]);
  await checkConv({ pads: [1, 0, 1, 0, 1, 0] }, [1, 4, 4, 3, 4], [2, 4, 2, 3, 2]);
});

test('Conv: constant weights are pre-flipped for the input gradient', async () => {
  await checkConv({ group: 2, pads: [2, 1, 0, 1] }, [2, 4, 6, 6], [4, 2, 3, 3], true, { w: { constant: true } });
});

test('ConvTranspose: stride 2, pads, output_padding, bias', async () => {
  const r = await gradCheck({
    opType: 'ConvTranspose',
    attrs: { strides: [2, 2], pads: [1, 0, 0, 1], output_padding: [1, 1] },
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [3, 2, 3, 3] }, { shape: [2] }],
    ...f32,
  });
  assert.ok(r.checked >= 40);
});

test('ConvTranspose: group 2, dilation, stride 3 with output_padding beyond the end pad; 1-D; VALID', async () => {
  await gradCheck({
    opType: 'ConvTranspose',
    attrs: { group: 2, strides: [3, 2], dilations: [1, 2], pads: [0, 1, 1, 0], output_padding: [2, 1] },
    inputs: [{ shape: [2, 4, 3, 4] }, { shape: [4, 3, 2, 3] }, { shape: [6] }],
    ...f32,
  });
  await gradCheck({
    opType: 'ConvTranspose',
    attrs: { strides: [2], pads: [1, 1] },
    inputs: [{ shape: [2, 3, 6] }, { shape: [3, 2, 4] }],
    ...f32,
  });
  await gradCheck({
    opType: 'ConvTranspose',
    attrs: { auto_pad: 'VALID', group: 3 },
    inputs: [{ shape: [1, 3, 4, 3] }, { shape: [3, 1, 2, 2] }],
    ...f32,
  });
});

/** A one-node model with float32 inputs x, w (and b); returns its bytes-ready IR and output name. */
function oneNodeModel(opType: string, attrs: Record<string, AttrValue>, shapes: readonly (readonly number[])[]): { model: ModelIR; output: string } {
  const graph: Graph = { name: 'conv', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  const b = new GraphBuilder(graph, 't');
  const names = shapes.map((s, i) => {
    graph.inputs.push({ name: `in${i}`, dataType: DT.FLOAT, shape: [...s] });
    return `in${i}`;
  });
  const output = b.op(opType, names, attrs);
  graph.outputs.push({ name: output, dataType: DT.FLOAT, shape: null });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  return { model: { proto, graph, opset: 18 }, output };
}

async function vjpWith(
  registry: VjpRegistry,
  m: { model: ModelIR; output: string },
  feeds: Record<string, Float32Array>,
  shapes: readonly (readonly number[])[],
  cot: Float32Array,
  outShape: number[],
): Promise<Float32Array[]> {
  const wrt = shapes.map((_, i) => `in${i}`);
  const vjp = await buildVjpGraph(m.model, { wrt, registry });
  const session = await Session.create(serializeModel(vjp.model), { threads: 1 });
  try {
    const ortFeeds = Object.fromEntries(wrt.map((w, i) => [w, { type: 'float32' as const, data: feeds[w]!, shape: [...shapes[i]!] }]));
    ortFeeds[cotangentInputName(m.output)] = { type: 'float32', data: cot, shape: outShape };
    const r = await session.run(ortFeeds);
    return wrt.map((w) => r[gradOutputName(w)]!.data as Float32Array);
  } finally {
    await session.dispose();
  }
}

function registryWith(conv: ConvVjpOptions, transposeWeights: WeightGradFormulation): VjpRegistry {
  const rest = ALL_RULES.filter((r) => r.opType !== 'Conv' && r.opType !== 'ConvTranspose');
  return createVjpRegistry([...rest, makeConvVjp(conv), makeConvTransposeVjp(transposeWeights)]);
}

test('every formulation gives the same gradients (Conv and ConvTranspose, groups, strides)', async () => {
  const cases: { opType: string; attrs: Record<string, AttrValue>; shapes: number[][] }[] = [
    { opType: 'Conv', attrs: { strides: [2, 2], pads: [1, 0, 2, 1], group: 2 }, shapes: [[2, 4, 7, 6], [6, 2, 3, 2], [6]] },
    { opType: 'Conv', attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] }, shapes: [[2, 3, 8, 8], [5, 3, 3, 3], [5]] },
    {
      opType: 'Conv',
      attrs: { strides: [3], auto_pad: 'VALID' },
      shapes: [
        [2, 2, 11],
        [3, 2, 2],
      ],
    },
    { opType: 'ConvTranspose', attrs: { strides: [2, 2], pads: [1, 0, 0, 1], output_padding: [1, 0], group: 2 }, shapes: [[2, 4, 4, 3], [4, 2, 3, 3], [4]] },
  ];
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const formulations: [ConvVjpOptions, WeightGradFormulation][] = [
    [{ inputGrad: 'conv-transpose', weightGrad: 'gather' }, 'gather'],
    [{ inputGrad: 'flipped-conv', weightGrad: 'im2col' }, 'im2col'],
    [{ inputGrad: 'flipped-conv', weightGrad: 'conv' }, 'conv'],
  ];
  for (const c of cases) {
    const m = oneNodeModel(c.opType, c.attrs, c.shapes);
    const feeds = Object.fromEntries(c.shapes.map((s, i) => [`in${i}`, Float32Array.from({ length: s.reduce((a, d) => a * d, 1) }, rand)]));
    const probe = await Session.create(serializeModel(m.model), { threads: 1 });
    const y = (await probe.run(Object.fromEntries(c.shapes.map((s, i) => [`in${i}`, { type: 'float32' as const, data: feeds[`in${i}`]!, shape: s }]))))[
      m.output
    ]!;
    await probe.dispose();
    const cot = Float32Array.from({ length: y.data.length }, rand);
    const results: Float32Array[][] = [];
    for (const [conv, transposeWeights] of formulations)
      results.push(await vjpWith(registryWith(conv, transposeWeights), m, feeds, c.shapes, cot, [...y.shape]));
    for (let k = 1; k < results.length; k++) {
      results[k]!.forEach((g, i) => {
        const ref = results[0]![i]!;
        assert.equal(g.length, ref.length);
        let worst = 0;
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j]! - ref[j]!) / (1 + Math.abs(ref[j]!)));
        assert.ok(worst < 1e-5, `${c.opType} ${JSON.stringify(c.attrs)} formulation ${k} input ${i}: max relative difference ${worst}`);
      });
    }
  }
});

test('ConvTranspose with auto_pad SAME_UPPER or output_shape is refused by name', async () => {
  for (const attrs of [
    { auto_pad: 'SAME_UPPER', strides: [2, 2] },
    { output_shape: [8, 8], strides: [2, 2] },
  ] as Record<string, AttrValue>[]) {
    const m = oneNodeModel('ConvTranspose', attrs, [
      [1, 2, 4, 4],
      [2, 3, 3, 3],
    ]);
    await assert.rejects(buildVjpGraph(m.model, { wrt: ['in0'] }), (e: unknown) => {
      assert.ok(e instanceof GibbonError);
      assert.equal(e.code, 'unsupported_attribute');
      assert.match(e.message, /ConvTranspose node .*(auto_pad='SAME_UPPER'|output_shape=\[8,8\])/);
      return true;
    });
  }
});
