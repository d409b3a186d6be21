/** Loss heads: values against direct formulas, gradients against finite differences of those formulas. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { OnnxModel } from '../model/onnx-model.js';
import { LOSS_NAMES, type LossName } from './loss-heads.js';

const C = 6;

/** A "classifier" whose logits are its input, so d loss / d input = d loss / d logits. */
function identityClassifier(): ModelIR {
  const graph: Graph = {
    name: 'id',
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: ['N', C] }],
    outputs: [{ name: 'z', dataType: DT.FLOAT, shape: ['N', C] }],
    initializers: new Map(),
    valueInfo: [],
  };
  new GraphBuilder(graph).node('Identity', ['x'], {}, { outputNames: ['z'] });
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] }),
    graph,
    opset: 18,
  };
}

function reference(loss: LossName, z: number[], y: number, t: number): number {
  const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
  const maxOther = (k: number): number => Math.max(...z.filter((_, j) => j !== k));
  const sorted = [...z].sort((a, b) => b - a);
  switch (loss) {
    case 'ce':
      return lse - z[y]!;
    case 'ce-targeted':
      return -(lse - z[t]!);
    case 'margin':
      return maxOther(y) - z[y]!;
    case 'margin-targeted':
      return z[t]! - maxOther(t);
    case 'dlr':
      return -(z[y]! - maxOther(y)) / (sorted[0]! - sorted[2]! + 1e-12);
    case 'dlr-targeted':
      return -(z[y]! - z[t]!) / (sorted[0]! - (sorted[2]! + sorted[3]!) / 2 + 1e-12);
  }
}

test('every loss head: value and gradient', async () => {
  const model = await OnnxModel.load(identityClassifier(), { threads: 1 });
  const n = 5;
  let s = 11;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const x = { data: Float32Array.from({ length: n * C }, () => 4 * rand() - 2), shape: [n, C] };
  const y = Int32Array.from({ length: n }, (_, i) => i % C);
  const t = Int32Array.from({ length: n }, (_, i) => (i + 2) % C);
  for (const loss of LOSS_NAMES) {
    const r = await model.lossAndGrad(x, y, loss, t);
    for (let i = 0; i < n; i++) {
      const z = Array.from(x.data.subarray(i * C, (i + 1) * C));
      const expected = reference(loss, z, y[i]!, t[i]!);
      assert.ok(Math.abs(r.loss[i]! - expected) <= 1e-5 * (1 + Math.abs(expected)), `${loss}[${i}]: ${r.loss[i]} vs ${expected}`);
      for (let j = 0; j < C; j++) {
        const h = 1e-4;
        const up = [...z];
        up[j]! += h;
        const down = [...z];
        down[j]! -= h;
        const numeric = (reference(loss, up, y[i]!, t[i]!) - reference(loss, down, y[i]!, t[i]!)) / (2 * h);
        const analytic = r.grad.data[i * C + j]!;
        assert.ok(Math.abs(analytic - numeric) <= 1e-3 * (1 + Math.abs(numeric)), `${loss} d/dz[${i},${j}]: ${analytic} vs ${numeric}`);
      }
    }
  }
  await model.dispose();
});

test('targeted losses without targets, and unknown losses, are clear errors', async () => {
  const model = await OnnxModel.load(identityClassifier(), { threads: 1 });
  const x = { data: new Float32Array(2 * C), shape: [2, C] };
  await assert.rejects(model.lossAndGrad(x, [0, 1], 'ce-targeted'), /needs targets/);
  await assert.rejects(model.lossAndGrad(x, [0, 1], 'hinge' as LossName), /unknown loss 'hinge'/);
  await assert.rejects(model.lossAndGrad(x, [0, 9], 'ce'), /labels\[1\] = 9 is not a class/);
  await model.dispose();
});
