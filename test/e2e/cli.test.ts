/**
 * The built CLI (node dist/src/cli/main.js), run as a user would, in a temporary folder: info,
 * predict, grad and demo on the bundled model against the PyTorch reference data, and every kind
 * of bad input: non-zero exit, exactly one line on stderr, a message naming the problem.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { DataType as DT } from '../../src/onnx/dtypes.js';
import type { Graph } from '../../src/onnx/graph.js';
import { loadModel, saveModel, type ModelIR } from '../../src/onnx/model.js';
import { encodeTensor } from '../../src/onnx/tensor-proto.js';
import { readNpy, toFloat32, writeNpy } from '../../src/tensor/npy.js';
import type { ModelDescription } from '../../src/cli/describe-model.js';
import { assertFails, assertOk, ROOT, runCli, type Run } from '../helpers/cli.js';

const MODEL = join(ROOT, 'test', 'fixtures', 'reference', 'mnist_cnn', 'mnist_cnn.onnx');
const REF = join(ROOT, 'test', 'fixtures', 'reference');
const X = join(REF, 'inputs', 'x.npy');
const Y = join(REF, 'inputs', 'y.npy');

const gibbon = (...args: string[]): Promise<Run> => runCli(work, ...args);

function float(path: string): { data: Float32Array; shape: readonly number[] } {
  const t = readNpy(path);
  return { data: toFloat32(t), shape: t.shape };
}

/** Elementwise |a − r| ≤ 1e-4·max|r| + 1e-3·|r|: the worst ratio (≤ 1 passes). */
function worstRatio(actual: Float32Array, ref: Float32Array): number {
  assert.equal(actual.length, ref.length);
  let maxRef = 0;
  for (const v of ref) maxRef = Math.max(maxRef, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - ref[i]!) / (1e-4 * maxRef + 1e-3 * Math.abs(ref[i]!) + 1e-30));
  return worst;
}

function argmaxRows(data: Float32Array, classes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.length / classes; i++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (data[i * classes + j]! > data[i * classes + best]!) best = j;
    out.push(best);
  }
  return out;
}

/** input (N, 4) → Einsum 'ni,ij->nj' with a (4, 3) weight → logits (N, 3): Einsum has no gradient rule. */
function einsumModel(): ModelIR {
  const graph: Graph = {
    name: 'einsum_classifier',
    nodes: [],
    inputs: [{ name: 'input', dataType: DT.FLOAT, shape: ['batch', 4] }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['batch', 3] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 'test');
  graph.initializers.set(
    'weight',
    encodeTensor(
      'weight',
      DT.FLOAT,
      [4, 3],
      Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2),
    ),
  );
  b.node('Einsum', ['input', 'weight'], { equation: 'ni,ij->nj' }, { outputNames: ['logits'], name: 'project' });
  const proto = create(ModelProtoSchema, {
    irVersion: 7n,
    producerName: 'gibbon-test',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })],
  });
  return { proto, graph, opset: 13 };
}

let work: string;
const file = (name: string): string => join(work, name);

before(() => {
  work = mkdtempSync(join(tmpdir(), 'gibbon-cli-'));
  saveModel(einsumModel(), file('einsum.onnx'));
  writeNpy(file('einsum-x.npy'), { type: 'float32', data: Float32Array.from({ length: 8 }, (_, i) => i / 8), shape: [2, 4] });
  writeNpy(file('einsum-y.npy'), { type: 'int64', data: BigInt64Array.of(0n, 2n), shape: [2] });
  const withSoftmax = loadModel(MODEL);
  const sb = new GraphBuilder(withSoftmax.graph, 'test');
  const probs = sb.op('Softmax', [withSoftmax.graph.outputs[0]!.name], { axis: 1 });
  withSoftmax.graph.outputs = [{ name: probs, dataType: DT.FLOAT, shape: null }];
  saveModel(withSoftmax, file('softmax.onnx'));

  const bytes = readFileSync(MODEL);
  writeFileSync(file('truncated.onnx'), bytes.subarray(0, bytes.length >> 1));
  writeFileSync(file('not-onnx.onnx'), 'name,label\ncat,1\n');
  writeFileSync(file('a-file'), 'not a folder');

  const x = float(X);
  const y = readNpy(Y);
  const row = 784;
  writeNpy(file('x64.npy'), { type: 'float32', data: x.data.subarray(0, 64 * row), shape: [64, 1, 28, 28] });
  writeNpy(file('y64.npy'), { type: 'int64', data: (y.data as BigInt64Array).subarray(0, 64), shape: [64] });
  writeNpy(file('x-flat.npy'), { type: 'float32', data: x.data.subarray(0, 8 * row), shape: [8, row] });
  writeNpy(file('x-int64.npy'), {
    type: 'int64',
    data: BigInt64Array.from(x.data.subarray(0, 8 * row), (v) => BigInt(Math.round(v * 255))),
    shape: [8, 1, 28, 28],
  });
  writeNpy(file('x-uint8.npy'), { type: 'uint8', data: Uint8Array.from(x.data, (v) => Math.round(v * 255)), shape: [256, 1, 28, 28] });
  const nan = Float32Array.from(x.data.subarray(0, 8 * row));
  nan[3 * row + 14 * 28 + 2] = Number.NaN;
  writeNpy(file('x-nan.npy'), { type: 'float32', data: nan, shape: [8, 1, 28, 28] });
  const labels = BigInt64Array.from(y.data as BigInt64Array);
  labels[5] = 10n;
  writeNpy(file('y-out-of-range.npy'), { type: 'int64', data: labels, shape: [256] });
  writeNpy(file('y-short.npy'), { type: 'int64', data: (y.data as BigInt64Array).subarray(0, 100), shape: [100] });
  writeNpy(file('y-float.npy'), { type: 'float32', data: Float32Array.from(y.data as BigInt64Array, Number), shape: [256] });
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('gibbon info', { concurrency: true }, () => {
  test('the bundled model: shapes, op counts, gradient support, parameters', async () => {
    const text = await gibbon('info', MODEL);
    assertOk(text);
    assert.match(text.stdout, /input {2}float32 \[batch, 1, 28, 28\]/);
    assert.match(text.stdout, /logits {2}float32 \[batch, 10\] {2}— logits/);
    assert.match(text.stdout, /nodes +10: Relu ×3, Conv ×2, Gemm ×2, MaxPool ×2, Flatten/);
    assert.match(text.stdout, /every op between input 'input' and the class scores has a gradient rule/);

    const json = await gibbon('info', MODEL, '--json');
    assertOk(json);
    const d = JSON.parse(json.stdout) as ModelDescription;
    assert.deepEqual(Object.fromEntries(d.ops.map((o) => [o.op, o.count])), { Relu: 3, Conv: 2, Gemm: 2, MaxPool: 2, Flatten: 1 });
    assert.ok(d.ops.every((o) => o.gradient === 'rule' && o.onGradientPath === o.count));
    assert.deepEqual(d.inputs, [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }]);
    assert.deepEqual(d.outputs, [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }]);
    assert.equal(d.opset, 13);
    assert.equal(d.irVersion, 7);
    assert.deepEqual(d.parameters, { tensors: 8, values: 16 * 9 + 16 + 32 * 16 * 9 + 32 + 128 * 1568 + 128 + 10 * 128 + 10 });
    assert.equal(d.output.kind, 'logits');
    assert.deepEqual(d.gradient.unsupportedOnPath, []);
  });

  test('a model with an op that has no gradient rule', async () => {
    const r = await gibbon('info', file('einsum.onnx'), '--json');
    assertOk(r);
    const d = JSON.parse(r.stdout) as ModelDescription;
    assert.deepEqual(d.gradient.unsupportedOnPath, ['Einsum']);
    assert.deepEqual(d.ops, [{ op: 'Einsum', count: 1, inSubgraphs: 0, gradient: 'unsupported', onGradientPath: 1 }]);
    const text = await gibbon('info', file('einsum.onnx'));
    assert.match(text.stdout, /no gradient rule for Einsum on the path from the input/);
  });

  test('a model ending in Softmax outputs probabilities; gradients start from its input', async () => {
    const r = await gibbon('info', file('softmax.onnx'), '--json');
    assertOk(r);
    const d = JSON.parse(r.stdout) as ModelDescription;
    assert.equal(d.output.kind, 'probabilities');
    assert.equal(d.output.scores, 'logits');
  });
});

describe('gibbon predict, grad, demo', { concurrency: true }, () => {
  test('predict --out writes the logits; accuracy matches the reference logits', async () => {
    const r = await gibbon('predict', MODEL, '--input', X, '--labels', Y, '--out', file('logits.npy'), '--threads', '1');
    assertOk(r);
    const logits = float(file('logits.npy'));
    assert.deepEqual([...logits.shape], [256, 10]);
    const ref = float(join(REF, 'mnist_cnn', 'logits.npy'));
    assert.ok(worstRatio(logits.data, ref.data) <= 1);
    const labels = Array.from(readNpy(Y).data as BigInt64Array, Number);
    const correct = argmaxRows(ref.data, 10).filter((p, i) => p === labels[i]).length;
    assert.match(r.stdout, new RegExp(`accuracy: ${((100 * correct) / 256).toFixed(2)}% \\(${correct}/256\\)`));
    assert.match(r.stdout, /256 examples, 10 classes/);
  });

  test('predict on uint8 pixels scales by 1/255 and says so', async () => {
    const r = await gibbon('predict', MODEL, '--input', file('x-uint8.npy'), '--out', file('logits-uint8.npy'), '--threads', '1');
    assertOk(r);
    assert.match(r.stderr, /uint8 pixels; scaled by 1\/255/);
    const ref = float(join(REF, 'mnist_cnn', 'logits.npy'));
    assert.ok(worstRatio(float(file('logits-uint8.npy')).data, ref.data) <= 1);
  });

  test('grad --wrt input agrees with the reference d(Σ CE)/dx', async () => {
    const r = await gibbon('grad', MODEL, '--input', X, '--labels', Y, '--loss', 'ce', '--out', file('grad-ce.npy'), '--threads', '1');
    assertOk(r);
    const g = float(file('grad-ce.npy'));
    assert.deepEqual([...g.shape], [256, 1, 28, 28]);
    const ratio = worstRatio(g.data, float(join(REF, 'mnist_cnn', 'grad_ce.npy')).data);
    assert.ok(ratio <= 1, `worst error is ${ratio.toFixed(3)}× the tolerance`);
    assert.match(r.stdout, /loss ce summed over 256 examples/);
  });

  test('grad --loss ce-targeted with the true labels as targets is −d(Σ CE)/dx', async () => {
    const r = await gibbon(
      'grad',
      MODEL,
      '--input',
      X,
      '--labels',
      Y,
      '--loss',
      'ce-targeted',
      '--target',
      Y,
      '--out',
      file('grad-ce-t.npy'),
      '--threads',
      '1',
    );
    assertOk(r);
    const g = float(file('grad-ce-t.npy'));
    const ratio = worstRatio(
      g.data.map((v) => -v),
      float(join(REF, 'mnist_cnn', 'grad_ce.npy')).data,
    );
    assert.ok(ratio <= 1, `worst error is ${ratio.toFixed(3)}× the tolerance`);
  });

  test('grad --wrt params writes one .npy per trainable initializer (Σ over 64 images = 64 × the reference mean)', async () => {
    const out = file('params');
    const r = await gibbon(
      'grad',
      MODEL,
      '--input',
      file('x64.npy'),
      '--labels',
      file('y64.npy'),
      '--loss',
      'ce',
      '--wrt',
      'params',
      '--out',
      out,
      '--threads',
      '1',
    );
    assertOk(r);
    const refDir = join(REF, 'mnist_cnn', 'param_grads');
    assert.deepEqual(readdirSync(out).sort(), readdirSync(refDir).sort());
    for (const f of readdirSync(refDir)) {
      const g = float(join(out, f));
      const ref = float(join(refDir, f));
      assert.deepEqual([...g.shape], [...ref.shape], f);
      const ratio = worstRatio(
        g.data.map((v) => v / 64),
        ref.data,
      );
      assert.ok(ratio <= 1, `${f}: worst error is ${ratio.toFixed(3)}× the tolerance`);
    }
  });

  test('demo --n 200: clean and FGSM accuracies, lower under attack', async () => {
    const r = await gibbon('demo', '--n', '200', '--threads', '1');
    assertOk(r);
    assert.match(r.stdout, /first 200 MNIST test images/);
    const accuracy = (label: string): number => {
      const m = new RegExp(`^\\s*${label.replace('.', '\\.').replace('(', '\\(').replace(')', '\\)')}\\s+([\\d.]+)%`, 'm').exec(r.stdout);
      assert.ok(m, `no row for ${label} in:\n${r.stdout}`);
      return Number(m[1]);
    };
    const clean = accuracy('0 (clean)');
    assert.ok(clean > 90, `clean accuracy ${clean}%`);
    for (const eps of ['0.05', '0.1', '0.2']) assert.ok(accuracy(eps) <= clean);
    assert.ok(accuracy('0.3') < clean, 'FGSM at ε=0.3 should lower the accuracy');
  });
});

describe('bad input: one line on stderr, non-zero exit', { concurrency: 4 }, () => {
  const readOnly = '/sys/gibbon-cli-test.npy';
  const sysIsReadOnly =
    existsSync('/sys') &&
    ((): boolean => {
      try {
        writeFileSync(readOnly, '');
        rmSync(readOnly);
        return false;
      } catch {
        return true;
      }
    })();

  test('missing model file', async () => {
    assertFails(await gibbon('info', file('missing.onnx')), /model file not found: .*missing\.onnx/);
  });

  test('missing input file', async () => {
    assertFails(await gibbon('predict', MODEL, '--input', file('missing.npy')), /file not found: .*missing\.npy → at option --input/);
  });

  test('a file that is not ONNX', async () => {
    assertFails(await gibbon('info', file('not-onnx.onnx')), /not-onnx\.onnx is not a valid ONNX model/);
  });

  test('a truncated ONNX file', async () => {
    assertFails(await gibbon('predict', file('truncated.onnx'), '--input', X), /truncated\.onnx is not a valid ONNX model .*truncated/);
  });

  test('an op without a gradient rule', async () => {
    const r = await gibbon(
      'grad',
      file('einsum.onnx'),
      '--input',
      file('einsum-x.npy'),
      '--labels',
      file('einsum-y.npy'),
      '--loss',
      'ce',
      '--out',
      file('g.npy'),
    );
    assertFails(r, /no gradient rule for op 'Einsum' at node '.*project.*'; supported ops: .*Conv/);
    assert.ok(!existsSync(file('g.npy')), 'no output is left behind');
  });

  test('input of the wrong shape', async () => {
    assertFails(await gibbon('predict', MODEL, '--input', file('x-flat.npy')), /x-flat\.npy has shape \[8, 784\] but model input 'input' is \[N, 1, 28, 28\]/);
  });

  test('input of the wrong dtype', async () => {
    assertFails(await gibbon('predict', MODEL, '--input', file('x-int64.npy')), /x-int64\.npy has dtype int64; inputs must be float32, float64 or uint8/);
  });

  test('NaN in the input', async () => {
    assertFails(
      await gibbon('grad', MODEL, '--input', file('x-nan.npy'), '--labels', file('y64.npy'), '--loss', 'ce', '--out', file('g.npy')),
      /x-nan\.npy contains NaN at index \[3, 0, 14, 2\]/,
    );
  });

  test('labels out of range', async () => {
    assertFails(
      await gibbon('predict', MODEL, '--input', X, '--labels', file('y-out-of-range.npy')),
      /y-out-of-range\.npy: label 10 at index 5 is not a class of this model \(0…9\)/,
    );
  });

  test('the wrong number of labels', async () => {
    assertFails(
      await gibbon('grad', MODEL, '--input', X, '--labels', file('y-short.npy'), '--loss', 'ce', '--out', file('g.npy')),
      /y-short\.npy has 100 labels but .*x\.npy has 256 examples/,
    );
  });

  test('labels that are not integers', async () => {
    assertFails(await gibbon('predict', MODEL, '--input', X, '--labels', file('y-float.npy')), /y-float\.npy has dtype float32; labels must be integers/);
  });

  test('output inside a folder that does not exist', async () => {
    assertFails(
      await gibbon('predict', MODEL, '--input', X, '--out', file('no/such/dir/p.npy')),
      /cannot write --out .*p\.npy: directory .*dir does not exist/,
    );
  });

  test('output under a path that is a file', async () => {
    assertFails(
      await gibbon('grad', MODEL, '--input', X, '--labels', Y, '--loss', 'ce', '--wrt', 'params', '--out', file('a-file')),
      /cannot write --out .*a-file: it exists and is not a folder/,
    );
  });

  test('output in a read-only location', { skip: sysIsReadOnly ? false : '/sys is writable here' }, async () => {
    assertFails(await gibbon('predict', MODEL, '--input', X, '--out', readOnly), /cannot write --out \/sys\/gibbon-cli-test\.npy: permission denied/);
  });

  test('unknown loss (a usage error: exit 2)', async () => {
    assertFails(
      await gibbon('grad', MODEL, '--input', X, '--labels', Y, '--loss', 'hinge', '--out', file('g.npy')),
      /argument 'hinge' is invalid\. Allowed choices are ce, margin, dlr/,
      2,
    );
  });

  test('a targeted loss without targets (exit 2)', async () => {
    assertFails(
      await gibbon('grad', MODEL, '--input', X, '--labels', Y, '--loss', 'margin-targeted', '--out', file('g.npy')),
      /loss 'margin-targeted' needs target classes: add --target/,
      2,
    );
  });

  test('no command, an unknown command, a missing option (exit 2)', async () => {
    assertFails(await gibbon(), /no command given; commands: info, predict, grad, demo/, 2);
    assertFails(await gibbon('attack'), /unknown command 'attack'/, 2);
    assertFails(await gibbon('predict', MODEL), /give exactly one of --input FILE .* or --text STRING/, 2);
    assertFails(await gibbon('grad', MODEL, '--loss', 'ce'), /required option '--input <file>' not specified/, 2);
  });
});
