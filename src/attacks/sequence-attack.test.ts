/**
 * Sequence attacks through the ordinary harness, on a "recogniser" whose per-frame scores are its
 * input: PGD on −CTC forces any feasible target when ε allows it, and cannot at ε = 0; untargeted PGD
 * on +CTC changes the string; the harness's verdicts are greedy decodings of the clipped inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { sequenceCriterion } from '../criteria/sequence-criterion.js';
import { SequenceOnnxModel } from '../model/sequence-model.js';
import { sequenceGradientOracle } from '../model/sequence-oracle.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { FgsmAttack } from './fgsm.js';
import { PgdAttack } from './pgd.js';
import { runSequenceAttack } from './sequence-attack.js';

const [N, T, C] = [6, 8, 5];

/** Scores (T, N, C) = the input (N, T, C), transposed. */
function identityRecogniser(): ModelIR {
  const graph: Graph = {
    name: 'id',
    nodes: [],
    inputs: [{ name: 'x', dataType: DT.FLOAT, shape: ['N', T, C] }],
    outputs: [{ name: 'scores', dataType: DT.FLOAT, shape: [T, 'N', C] }],
    initializers: new Map(),
    valueInfo: [],
  };
  new GraphBuilder(graph).node('Transpose', ['x'], { perm: [1, 0, 2] }, { outputNames: ['scores'] });
  return {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })] }),
    graph,
    opset: 13,
  };
}

function inputs(): { data: Float32Array; shape: number[] } {
  let s = 3;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return { data: Float32Array.from({ length: N * T * C }, rand), shape: [N, T, C] };
}

const TARGETS = [[1, 2, 3], [4, 4], [2], [3, 1, 3, 1], [1, 1, 1, 1], [4, 3, 2, 1]];

test('targeted PGD on −CTC forces each target when ε allows it, and the harness decodes to check', async () => {
  const model = await SequenceOnnxModel.load(identityRecogniser(), { threads: 1, charset: 'abcd' });
  const x = inputs();
  const clean = await model.decode(x);
  const targets = TARGETS.map((t, i) => (t.join() === clean[i]!.join() ? [...t, 1] : t));
  const r = await runSequenceAttack(new PgdAttack({ steps: 60, relStepsize: 0.1, randomStart: false }), model, x, { eps: 1, norm: 'linf', targets });
  assert.deepEqual(r.original, clean);
  for (let i = 0; i < N; i++) assert.equal(r.outcome.success[i] === 1, r.adversarial[i]!.join() === targets[i]!.join(), `example ${i}`);
  // Sign steps drive scores to 0 or 1, where ties between classes can hide a target from greedy
  // decoding (ties go to the lowest class); all but one example still read their target.
  assert.ok(r.outcome.success.reduce((a, b) => a + b, 0) >= N - 1, `forced ${Array.from(r.outcome.success)}`);
  assert.equal(model.charset!.decode(r.adversarial[3]!), 'caca');
  const none = await runSequenceAttack(new PgdAttack({ steps: 5 }), model, x, { eps: 0, norm: 'linf', targets });
  assert.deepEqual(Array.from(none.outcome.success), new Array(N).fill(0));
  assert.deepEqual(none.adversarial, clean);
  await model.dispose();
});

test('untargeted attacks on +CTC change the transcription', async () => {
  const model = await SequenceOnnxModel.load(identityRecogniser(), { threads: 1 });
  const x = inputs();
  const r = await runSequenceAttack(new FgsmAttack(), model, x, { eps: 0.5, norm: 'linf' });
  for (let i = 0; i < N; i++) assert.equal(r.outcome.success[i] === 1, r.adversarial[i]!.join() !== r.original[i]!.join(), `example ${i}`);
  assert.ok(r.outcome.success.reduce((a, b) => a + b, 0) >= N - 1, `changed ${Array.from(r.outcome.success)}`);
  await model.dispose();
});

test('a target equal to the transcription, a margin loss and a missing target table are refused', async () => {
  const model = await SequenceOnnxModel.load(identityRecogniser(), { threads: 1 });
  const x = inputs();
  const clean = await model.decode(x);
  assert.throws(
    () => sequenceCriterion({ frames: T, classes: C, blank: 0, transcriptions: clean, targets: clean }),
    /targets\[0\] equals the model's transcription of example 0/,
  );
  const oracle = sequenceGradientOracle(model, { transcriptions: clean });
  await assert.rejects(oracle.lossAndGrad(x, [0, 1, 2, 3, 4, 5], 'margin'), /one loss family, 'ce' \(CTC\)/);
  await assert.rejects(oracle.lossAndGrad(x, [0, 1, 2, 3, 4, 5], 'ce-targeted', [0, 1, 2, 3, 4, 5]), /made without targets/);
  await assert.rejects(
    runSequenceAttack(new FgsmAttack(), model, x, { eps: 0.1, norm: 'linf', targets: [[1]] }),
    /targets has 1 sequences but the input has 6 examples/,
  );
  await model.dispose();
});
