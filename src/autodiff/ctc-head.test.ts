/**
 * The CTC head: loss values and gradients against torch.nn.functional.ctc_loss (float64 reference,
 * tools/ctc/make_ctc_reference.py), the gradient against central finite differences of the head
 * itself, both layouts, and the errors for targets no alignment can produce.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { SequenceOnnxModel } from '../model/sequence-model.js';
import { ctcFramesNeeded } from './ctc-head.js';

interface Reference {
  shape: [number, number, number];
  scores: number[];
  targets: number[][];
  lengths: number[];
  loss: number[];
  grad: number[];
}
const ref = JSON.parse(readFileSync(new URL('../../../test/fixtures/ctc/ctc_reference.json', import.meta.url), 'utf8')) as Reference;
const [T, N, C] = ref.shape;

/**
 * A "recogniser" whose per-frame scores are its input x (N, T, C): with layout 'TNC' it transposes
 * them to (T, N, C), with 'NTC' it passes them through, so d loss / d x = d loss / d scores.
 */
function identityRecogniser(layout: 'TNC' | 'NTC', batch: number | string = 'N', softmax = false): ModelIR {
  const graph: Graph = {
    name: 'id',
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: [batch, T, C] }],
    outputs: [{ name: 'scores', dataType: DT.FLOAT, shape: layout === 'TNC' ? [T, batch, C] : [batch, T, C] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph);
  const last = softmax ? 'logits' : 'scores';
  if (layout === 'TNC') b.node('Transpose', ['x'], { perm: [1, 0, 2] }, { outputNames: [last] });
  else b.node('Identity', ['x'], {}, { outputNames: [last] });
  // PaddleOCR's recognisers end in a Softmax: the head must start from its input.
  if (softmax) b.node('Softmax', ['logits'], { axis: 2 }, { outputNames: ['scores'] });
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })] }),
    graph,
    opset: 13,
  };
}

/** The reference scores (T, N, C) as the identity recogniser's input (N, T, C). */
function referenceInput(): { data: Float32Array; shape: number[] } {
  const data = new Float32Array(N * T * C);
  for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) data[(n * T + t) * C + c] = ref.scores[(t * N + n) * C + c]!;
  return { data, shape: [N, T, C] };
}

const sequences = (): number[][] => ref.targets.map((row, i) => row.slice(0, ref.lengths[i]));

for (const layout of ['TNC', 'NTC'] as const) {
  test(`CTC loss and gradient match torch.nn.functional.ctc_loss (${layout}, detected)`, async () => {
    const model = await SequenceOnnxModel.load(identityRecogniser(layout), { threads: 1 });
    assert.equal(model.layout, layout);
    assert.equal(model.frames, T);
    assert.equal(model.numClasses, C);
    const x = referenceInput();
    const r = await model.lossAndGrad(x, sequences(), 'ctc');
    for (let i = 0; i < N; i++) {
      assert.ok(Math.abs(r.loss[i]! - ref.loss[i]!) <= 1e-4 * (1 + ref.loss[i]!), `loss[${i}] ${r.loss[i]} vs torch ${ref.loss[i]}`);
    }
    let worst = 0;
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const expected = ref.grad[(t * N + n) * C + c]!;
          worst = Math.max(worst, Math.abs(r.grad.data[(n * T + t) * C + c]! - expected));
        }
      }
    }
    assert.ok(worst < 1e-5, `largest gradient difference to torch: ${worst}`);
    const targeted = await model.lossAndGrad(x, sequences(), 'ctc-targeted');
    assert.deepEqual(
      Array.from(targeted.loss, (v) => v.toFixed(3)),
      Array.from(r.loss, (v) => (-v).toFixed(3)),
    );
    await model.dispose();
  });
}

test('CTC gradient agrees with central finite differences of the head', async () => {
  const model = await SequenceOnnxModel.load(identityRecogniser('TNC'), { threads: 1 });
  const x = referenceInput();
  // Shorter, different targets than the reference (targets padded to 3): the gradient graph is rebuilt for S = 3.
  const targets = [[1, 1, 2], [3], [], [4, 5, 4], [2, 2, 2]];
  const r = await model.lossAndGrad(x, targets, 'ctc');
  const h = 1e-2;
  let checked = 0;
  for (let k = 0; k < x.data.length; k += 7) {
    const up = { data: Float32Array.from(x.data), shape: x.shape };
    const down = { data: Float32Array.from(x.data), shape: x.shape };
    up.data[k]! += h;
    down.data[k]! -= h;
    const [lu, ld] = [(await model.lossAndGrad(up, targets, 'ctc')).loss, (await model.lossAndGrad(down, targets, 'ctc')).loss];
    const example = Math.floor(k / (T * C));
    const numeric = (lu[example]! - ld[example]!) / (2 * h);
    assert.ok(Math.abs(r.grad.data[k]! - numeric) <= 2e-3 + 1e-2 * Math.abs(numeric), `d/dx[${k}]: ${r.grad.data[k]} vs ${numeric}`);
    checked++;
  }
  assert.ok(checked > 30);
  await model.dispose();
});

test('targets that are blank, out of range or need more frames than the model emits are refused', async () => {
  const model = await SequenceOnnxModel.load(identityRecogniser('NTC'), { threads: 1 });
  const x = referenceInput();
  const ok = [[1], [1], [1], [1], [1]];
  assert.equal(ctcFramesNeeded([1, 1, 1, 2, 2]), 8);
  await assert.rejects(model.lossAndGrad(x, [[0], ...ok.slice(1)], 'ctc'), /targets\[0\] contains 0, which is not a non-blank class/);
  await assert.rejects(model.lossAndGrad(x, [...ok.slice(1), [C]], 'ctc'), /targets\[4\] contains 6/);
  // 5 equal labels need exactly the 9 frames there are: one alignment, probability > 0.
  const tight = await model.lossAndGrad(x, [...ok.slice(1), [1, 1, 1, 1, 1]], 'ctc');
  assert.ok(Number.isFinite(tight.loss[4]!) && tight.loss[4]! > 0 && tight.loss[4]! < 1e3, `loss of the tight target: ${tight.loss[4]}`);
  await assert.rejects(model.lossAndGrad(x, [...ok.slice(1), [1, 1, 1, 1, 1, 2]], 'ctc'), /targets\[4\] \(6 labels\) needs 10 frames but the model emits 9/);
  await assert.rejects(model.lossAndGrad(x, ok.slice(1), 'ctc'), /targets has 4 sequences but the input has 5 examples/);
  await model.dispose();
});

test('a fixed-batch-1 recogniser: layout must be given, then the batch is run one example at a time', async () => {
  await assert.rejects(
    SequenceOnnxModel.load(identityRecogniser('TNC', 1), { threads: 1 }),
    /cannot tell which axis of output 'scores' \[9, 1, 6\] is the batch; pass layout 'TNC' or 'NTC'/,
  );
  const model = await SequenceOnnxModel.load(identityRecogniser('TNC', 1), { threads: 1, layout: 'TNC' });
  assert.equal(model.fixedBatch, 1);
  const r = await model.lossAndGrad(referenceInput(), sequences(), 'ctc');
  for (let i = 0; i < N; i++) assert.ok(Math.abs(r.loss[i]! - ref.loss[i]!) <= 1e-4 * (1 + ref.loss[i]!), `loss[${i}] ${r.loss[i]} vs torch ${ref.loss[i]}`);
  assert.equal((await model.decode(referenceInput())).length, N);
  await model.dispose();
  await assert.rejects(
    SequenceOnnxModel.load(identityRecogniser('NTC'), { threads: 1, layout: 'TNC' }),
    /layout 'TNC' was given, but output 'scores' changes size with the batch on axis 0 \(layout 'NTC'\)/,
  );
});

test('a recogniser ending in Softmax (PaddleOCR-style probabilities) is differentiated from the Softmax input', async () => {
  const model = await SequenceOnnxModel.load(identityRecogniser('NTC', 'N', true), { threads: 1 });
  const r = await model.lossAndGrad(referenceInput(), sequences(), 'ctc');
  for (let i = 0; i < N; i++) assert.ok(Math.abs(r.loss[i]! - ref.loss[i]!) <= 1e-4 * (1 + ref.loss[i]!), `loss[${i}] ${r.loss[i]} vs torch ${ref.loss[i]}`);
  assert.ok(Math.abs(r.grad.data[0]! - ref.grad[0]!) < 1e-5, `d/dz[0,0,0] ${r.grad.data[0]} vs ${ref.grad[0]}`);
  await model.dispose();
});
