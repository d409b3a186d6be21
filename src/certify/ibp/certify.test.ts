/** certifyIbp on the PyTorch reference models: exact clean accuracy, most examples certify at tiny ε, none at large ε; resume; errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GibbonError } from '../../errors.js';
import { loadModel } from '../../onnx/model.js';
import { readNpy, toFloat32 } from '../../tensor/npy.js';
import { buildIntervalGraph, certifyIbp, marginKey } from './certify.js';
import type { CertifiedExample } from '../result.js';

const REFERENCE = join(process.cwd(), 'test', 'fixtures', 'reference');
const x = { data: toFloat32(readNpy(join(REFERENCE, 'inputs', 'x.npy'))), shape: [256, 1, 28, 28] };
const y = Int32Array.from(readNpy(join(REFERENCE, 'inputs', 'y.npy')).data as BigInt64Array, Number);

for (const [name, clean] of [
  ['mnist_mlp', 0.98828125],
  ['mnist_cnn', 0.99609375],
] as const) {
  test(`${name}: clean accuracy as in PyTorch; at ε 0.001 most correct examples certify, at ε 0.3 none`, async () => {
    const ir = loadModel(join(REFERENCE, name, `${name}.onnx`));
    let batches = 0;
    const progress: number[] = [];
    const r = await certifyIbp(ir, x, y, [0.3, 0.001, 0.01], {
      threads: 1,
      batchSize: 100,
      onBatch: () => batches++,
      onProgress: (done) => progress.push(done),
    });
    assert.deepEqual(r.eps, [0.001, 0.01, 0.3]);
    assert.equal(r.elided, true);
    assert.equal(r.curve.method, 'ibp');
    assert.equal(r.curve.norm, 'linf');
    assert.equal(r.curve.n, 256);
    assert.equal(r.curve.clean_accuracy, clean);
    assert.deepEqual(
      r.curve.points.map((p) => p.radius),
      [0, 0.001, 0.01, 0.3],
    );
    const at = (eps: number): number => r.curve.points.find((p) => p.radius === eps)!.certified_accuracy;
    assert.equal(at(0), clean);
    assert.ok(at(0.001) >= 0.9 * clean, `certified at 0.001: ${at(0.001)}`);
    assert.ok(at(0.01) <= at(0.001));
    assert.equal(at(0.3), 0);
    assert.equal(batches, 3);
    assert.deepEqual(progress, [0, 100, 200, 256]);
    // Certified examples are correct, and their margin bound at each certified ε is positive.
    for (const rec of r.records) {
      if (rec.radius > 0) assert.ok(rec.correct && rec.details![marginKey(rec.radius)]! > 0);
      assert.equal(r.certified[0]![rec.index], rec.correct && rec.radius >= 0.001);
    }
  });
}

test('elision certifies at least as many examples as subtracting logit bounds', async () => {
  const ir = loadModel(join(REFERENCE, 'mnist_cnn', 'mnist_cnn.onnx'));
  const sub = { data: x.data.subarray(0, 64 * 784), shape: [64, 1, 28, 28] };
  const labels = y.subarray(0, 64);
  const plain = await certifyIbp(await buildIntervalGraph(ir, { elide: false }), sub, labels, [0.005, 0.01, 0.02], { threads: 1 });
  const elided = await certifyIbp(ir, sub, labels, [0.005, 0.01, 0.02], { threads: 1 });
  assert.equal(plain.elided, false);
  let tighter = 0;
  for (let i = 0; i < 64; i++) {
    for (const e of [0.005, 0.01, 0.02]) {
      const [p, q] = [plain.records[i]!.details![marginKey(e)]!, elided.records[i]!.details![marginKey(e)]!];
      assert.ok(q >= p - 1e-3 * (1 + Math.abs(p)), `example ${i} ε ${e}: elided margin ${q} < plain ${p}`);
      if (q > p + 1e-3) tighter++;
    }
  }
  assert.ok(tighter > 0, 'elision should tighten some margins');
  for (let k = 0; k < 3; k++) assert.ok(elided.certified[k]!.filter(Boolean).length >= plain.certified[k]!.filter(Boolean).length);
});

test('a resumed run skips finished examples and gives the same records', async () => {
  const ir = loadModel(join(REFERENCE, 'mnist_mlp', 'mnist_mlp.onnx'));
  const graph = await buildIntervalGraph(ir);
  const sub = { data: x.data.subarray(0, 50 * 784), shape: [50, 1, 28, 28] };
  const labels = y.subarray(0, 50);
  let saved: readonly CertifiedExample[] = [];
  const controller = new AbortController();
  await assert.rejects(
    certifyIbp(graph, sub, labels, [0.005, 0.02], {
      threads: 1,
      batchSize: 20,
      signal: controller.signal,
      onBatch: (records) => {
        saved = records;
        controller.abort();
      },
    }),
    (e: unknown) => (e as Error).name === 'AbortError',
  );
  assert.equal(saved.length, 20);
  let batches = 0;
  const resumed = await certifyIbp(graph, sub, labels, [0.005, 0.02], { threads: 1, batchSize: 20, done: saved, onBatch: () => batches++ });
  const whole = await certifyIbp(graph, sub, labels, [0.005, 0.02], { threads: 1, batchSize: 20 });
  assert.equal(batches, 2);
  assert.deepEqual(resumed.records, whole.records);
  assert.deepEqual(resumed.curve.points, whole.curve.points);
});

test('bad ε, labels and shapes fail with clear errors', async () => {
  const ir = loadModel(join(REFERENCE, 'mnist_mlp', 'mnist_mlp.onnx'));
  const two = { data: x.data.subarray(0, 2 * 784), shape: [2, 1, 28, 28] };
  const cases: [() => Promise<unknown>, string, RegExp][] = [
    [() => certifyIbp(ir, two, [1, 2], []), 'invalid_option', /at least one ε/],
    [() => certifyIbp(ir, two, [1, 2], [-0.1]), 'invalid_option', /ε must be a finite number ≥ 0; got -0.1/],
    [() => certifyIbp(ir, two, [1], [0.1]), 'invalid_input', /labels has 1 entries but the input has 2/],
    [() => certifyIbp(ir, two, [1, 12], [0.1], { threads: 1 }), 'invalid_input', /labels\[1\] = 12 is not a class of this model \(0…9\)/],
    [
      () => certifyIbp(ir, { data: two.data, shape: [2, 784] }, [1, 2], [0.1], { threads: 1 }),
      'invalid_input',
      /shape \[2, 784\] but the model expects \[N, 1, 28, 28\]/,
    ],
  ];
  for (const [run, code, message] of cases) {
    await assert.rejects(run(), (e: unknown) => e instanceof GibbonError && e.code === code && message.test(e.message));
  }
});
