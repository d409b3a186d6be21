import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { checkModelGradient } from '../../autodiff/testing/model-gradcheck.js';
import { GibbonError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import { serializeModel, type ModelIR } from '../../onnx/model.js';
import { Session } from '../../runtime/session.js';
import type { Tensor } from '../../tensor/tensor.js';
import { emitResizePad, randomResizePad } from './random-resize-pad.js';
import { roundHalfEven, transformModel, uniformTensor } from './testing/transform-model.js';

/** y = resize-pad(x) with the uniforms fed as a second input 'u' [N, 3, 1]. */
function fixedDrawModel(chw: readonly [number, number, number], minScale: number): ModelIR {
  const graph: Graph = {
    name: 'resize-pad',
    nodes: [],
    inputs: [
      { name: 'x', dataType: DT.FLOAT, shape: ['batch', ...chw] },
      { name: 'u', dataType: DT.FLOAT, shape: ['batch', 3, 1] },
    ],
    outputs: [{ name: 'y', dataType: DT.FLOAT, shape: null }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 'test');
  const y = emitResizePad(b, 'x', [chw[1], chw[2]], minScale, 'u');
  b.node('Identity', [y], {}, { outputNames: ['y'] });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  return { proto, graph, opset: 18 };
}

/** The plain-JS resampling matrix of one axis (float32 steps as in the graph). */
function axisMatrix(length: number, minScale: number, us: number, uo: number): { matrix: Float64Array; size: number; offset: number } {
  const f = Math.fround;
  const scale = f(f(minScale) + f(us * f(1 - minScale)));
  const size = Math.max(1, roundHalfEven(f(scale * length)));
  const room = length - size;
  const offset = Math.min(Math.floor(f(uo * (room + 1))), room);
  const ratio = f(length / size);
  const matrix = new Float64Array(length * length);
  for (let i = offset; i < offset + size; i++) {
    const at = (i - offset + 0.5) * ratio - 0.5;
    for (let u = 0; u < length; u++) matrix[i * length + u] = Math.max(0, 1 - Math.abs(at - u));
  }
  return { matrix, size, offset };
}

function resizePadReference(x: Tensor, u: Float32Array, minScale: number): Float32Array {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float32Array(x.data.length);
  for (let r = 0; r < n; r++) {
    const a = axisMatrix(h, minScale, u[3 * r]!, u[3 * r + 1]!).matrix;
    const bm = axisMatrix(w, minScale, u[3 * r]!, u[3 * r + 2]!).matrix;
    for (let ch = 0; ch < c; ch++) {
      const base = (r * c + ch) * h * w;
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) {
          let sum = 0;
          for (let p = 0; p < h; p++) for (let q = 0; q < w; q++) sum += a[i * h + p]! * x.data[base + p * w + q]! * bm[j * w + q]!;
          out[base + i * w + j] = sum;
        }
    }
  }
  return out;
}

test('resize-pad with fixed draws equals the plain-JS bilinear shrink and zero pad (5 rows, 2×9×7, scales 0.5–1)', async () => {
  const x = uniformTensor([5, 2, 9, 7], 21);
  // Draws chosen away from rounding boundaries; the last row keeps the full size (s = 1).
  const u = Float32Array.of(0.1, 0.3, 0.9, 0.45, 0.0, 0.99, 0.7, 0.5, 0.2, 0.25, 0.8, 0.6, 0.999, 0.4, 0.4);
  const session = await Session.create(serializeModel(fixedDrawModel([2, 9, 7], 0.5)), { threads: 1 });
  try {
    const y = (await session.run({ x: { type: 'float32', data: x.data, shape: x.shape }, u: { type: 'float32', data: u, shape: [5, 3, 1] } })).y!;
    assert.deepEqual(y.shape, [5, 2, 9, 7]);
    const expected = resizePadReference(x, u, 0.5);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((y.data as Float32Array)[i]! - expected[i]!));
    assert.ok(worst < 1e-5, `max |onnx − js| ${worst}`);
    // Row 0: s = 0.55 → 5×4 pixels placed at rows 1…5, columns 3…6; everything else is zero padding.
    const row0 = axisMatrix(9, 0.5, 0.1, 0.3);
    assert.deepEqual([row0.size, row0.offset], [5, 1]);
    const zeros = [...(y.data as Float32Array).subarray(0, 63)].filter((v) => v === 0).length;
    assert.equal(zeros, 63 - 5 * 4);
  } finally {
    await session.dispose();
  }
});

test('resize-pad: gradients w.r.t. x match finite differences (fixed draws)', async () => {
  const x = uniformTensor([3, 2, 6, 5], 4);
  const feeds = {
    x: { type: 'float32' as const, data: x.data, shape: x.shape },
    u: { type: 'float32' as const, data: Float32Array.of(0.2, 0.6, 0.3, 0.8, 0.1, 0.9, 0.55, 0.45, 0.05), shape: [3, 3, 1] },
  };
  const r = await checkModelGradient(fixedDrawModel([2, 6, 5], 0.6), feeds, { wrt: ['x'], maxEntries: 60, step: 1e-2, label: 'resize-pad' });
  assert.equal(r.checked, 60);
  assert.ok(r.analytic[0]!.some((g) => g !== 0));
});

test('resize-pad draws inside the graph: new values per row and per run, the shape stays [N, C, H, W]', async () => {
  const ones: Tensor = { data: new Float32Array(16 * 8 * 8).fill(1), shape: [16, 1, 8, 8] };
  const session = await Session.create(serializeModel(transformModel([randomResizePad(0.5)], [1, 8, 8])), { threads: 1 });
  try {
    const run = async (): Promise<Float32Array> => {
      const y = (await session.run({ x: { type: 'float32', data: ones.data, shape: ones.shape } })).y!;
      assert.deepEqual(y.shape, [16, 1, 8, 8]);
      return y.data as Float32Array;
    };
    const first = await run();
    const second = await run();
    const rows = (y: Float32Array): string[] => Array.from({ length: 16 }, (_, r) => y.subarray(r * 64, (r + 1) * 64).join(','));
    // Bilinear weights sum to 1, so a white image becomes a white r×r square (4 ≤ r ≤ 8) on black.
    for (const y of [first, second]) {
      for (const row of rows(y)) {
        const values = row.split(',').map(Number);
        const lit = values.filter((v) => v > 0);
        assert.ok(lit.every((v) => Math.abs(v - 1) < 1e-5));
        const side = Math.sqrt(lit.length);
        assert.ok(Number.isInteger(side) && side >= 4 && side <= 8, `${lit.length} lit pixels`);
      }
    }
    assert.ok(new Set(rows(first)).size >= 4, 'rows of one run differ');
    assert.notDeepEqual(rows(first), rows(second));
  } finally {
    await session.dispose();
  }
});

test('resize-pad rejects a minimum scale outside (0, 1] and inputs without static H, W', () => {
  for (const bad of [0, 1.5, Number.NaN]) {
    assert.throws(
      () => randomResizePad(bad),
      (e: unknown) => e instanceof GibbonError && /minimum scale must be a number in \(0, 1\]/.test(e.message),
    );
  }
  const model = transformModel([], [1, 4, 4]);
  assert.throws(() => randomResizePad(0.9).emit(new GraphBuilder(model.graph), 'x', [null, 1, null, null]), /static H and W; got \[\?, 1, \?, \?\]/);
});
