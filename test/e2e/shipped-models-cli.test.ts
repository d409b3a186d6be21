/**
 * The CLI on models as shipped (test/fixtures/zoo): predict, grad and a short eval with the options
 * that read them (--feed, --wrt-input, --output, --output-reduce, --input-shape, --domain,
 * --mean/--std and the threat model's input.mean/std and model section), and the one-line errors
 * that say which option is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxModel } from '../../src/model/onnx-model.js';
import { readNpy, toFloat32, writeNpy } from '../../src/tensor/npy.js';
import { assertFails, assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const ZOO = join(ROOT, 'test', 'fixtures', 'zoo');
const { work, gibbon } = cliWorkspace('gibbon-shipped-');
const model = (name: string): string => join(ZOO, `${name}.onnx`);
const x = (name: string): string => join(ZOO, `${name}.x.npy`);

function labels(name: string, values: number[]): string {
  const path = join(work, `${name}.y.npy`);
  writeNpy(path, { type: 'int64', data: BigInt64Array.from(values, BigInt), shape: [values.length] });
  return path;
}

test('grad on a fixed-batch-1 model writes the same gradient as the library, row by row', async () => {
  const name = 'mlp_fixed1_op9';
  const out = join(work, 'mlp.grad.npy');
  const r = await gibbon('grad', model(name), '--input', x(name), '--labels', labels(name, [0, 1, 2, 3]), '--loss', 'margin', '--out', out);
  assertOk(r);
  const m = await OnnxModel.load(model(name), { threads: 1 });
  const t = readNpy(x(name));
  const ref = await m.lossAndGrad({ data: toFloat32(t), shape: t.shape }, [0, 1, 2, 3], 'margin');
  await m.dispose();
  const got = toFloat32(readNpy(out));
  assert.equal(got.length, ref.grad.data.length);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - ref.grad.data[i]!) < 1e-6);
});

test('a sigmoid detector reads as two classes; its CE gradient is not zero', async () => {
  const name = 'sigmoid_detector_op13';
  const out = join(work, 'sig.grad.npy');
  const p = await gibbon('predict', model(name), '--input', x(name));
  assertOk(p);
  assert.match(p.stdout, /6 examples, 2 classes/);
  assertOk(await gibbon('grad', model(name), '--input', x(name), '--labels', labels(name, [1, 1, 1, 0, 0, 0]), '--loss', 'ce', '--out', out));
  assert.ok(toFloat32(readNpy(out)).some((v) => Math.abs(v) > 1e-6));
});

test('several inputs: --feed and --wrt-input, and the error that names the inputs to feed', async () => {
  const name = 'vad_three_inputs_op16';
  assertFails(await gibbon('predict', model(name), '--input', x(name)), /inputs 'state', 'sr' besides 'input'.*--feed state=/);
  const feeds = ['--feed', `state=${join(ZOO, `${name}.feeds`, 'state.npy')}`, '--feed', 'sr=16000', '--wrt-input', 'input', '--output', 'output'];
  const out = join(work, 'vad.grad.npy');
  assertOk(
    await gibbon('grad', model(name), '--input', x(name), '--labels', labels(name, [0, 1, 0]), '--loss', 'ce', '--out', out, ...feeds, '--domain', '-1,1'),
  );
  assert.deepEqual(readNpy(out).shape, [3, 512]);
  assertFails(await gibbon('predict', model(name), '--input', x(name), '--feed', 'state'), /NAME=FILE.npy or NAME=NUMBER/, 2);
  assertFails(await gibbon('predict', model(name), '--input', x(name), '--feed', 'nosuch=1', '--feed', 'sr=1', '--feed', 'state=0'), /no input 'nosuch'/);
});

test('dynamic H/W from the input .npy; a map output needs --output-reduce, named in the error', async () => {
  assertOk(await gibbon('predict', model('cnn_dynamic_hw_op11'), '--input', x('cnn_dynamic_hw_op11')));
  const seg = 'segmentation_map_op13';
  assertFails(await gibbon('predict', model(seg), '--input', x(seg)), /output 'mask' has shape \[N, 1, 32, 32\].*--output-reduce/);
  const r = await gibbon('predict', model(seg), '--input', x(seg), '--output-reduce', 'max');
  assertOk(r);
  assert.match(r.stdout, /2 examples, 2 classes/);
});

test('Softmax before opset 13 is probabilities: predict --out writes the scores before it', async () => {
  const out = join(work, 'soft.logits.npy');
  const r = await gibbon('predict', model('softmax_cnn_op10'), '--input', x('softmax_cnn_op10'), '--out', out);
  assertOk(r);
  assert.match(r.stdout, /before the final Softmax/);
  const z = toFloat32(readNpy(out));
  assert.ok(Math.abs(z.slice(0, 10).reduce((s, v) => s + v, 0) - 1) > 1e-3);
});

test('uint8 inputs on a 0–255 normalised model: eval with input.mean/std in the threat model', async () => {
  const name = 'normalised_input_op15';
  const y = labels(name, [0, 1, 2]);
  const threat = join(work, 'normalised.yaml');
  writeFileSync(
    threat,
    [
      'knowledge: white-box',
      'norm: linf',
      'eps: [8]',
      'input: { bounds: [0, 255], mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] }',
      `data: { x: ${x(name)}, labels: ${y} }`,
    ].join('\n'),
  );
  const r = await gibbon('eval', model(name), '--threat', threat, '--attacks', 'fgsm', '--out', join(work, 'normalised-report'));
  assertOk(r);
  assert.match(r.stderr, /mapped from 0…255 onto the input domain \[0, 255\]/);
  assert.match(r.stdout, /inputs in \[0, 255\]/);
  // Without mean/std the model would see raw pixels: predictions differ from the normalised reading.
  const [a, b] = [join(work, 'raw.npy'), join(work, 'normalised.npy')];
  assertOk(await gibbon('predict', model(name), '--input', x(name), '--domain', '0,255', '--out', a));
  assertOk(
    await gibbon(
      'predict',
      model(name),
      '--input',
      x(name),
      '--domain',
      '0,255',
      '--mean',
      '123.675,116.28,103.53',
      '--std',
      '58.395,57.12,57.375',
      '--out',
      b,
    ),
  );
  const [za, zb] = [toFloat32(readNpy(a)), toFloat32(readNpy(b))];
  assert.ok(za.some((v, i) => Math.abs(v - zb[i]!) > 1e-3));
  assertFails(await gibbon('predict', model(name), '--input', x(name), '--mean', '1,2,3'), /--mean and --std go together/, 2);
});

test('eval on a three-input model with the threat model naming its feeds, input and output', async () => {
  const name = 'vad_three_inputs_op16';
  const threat = join(work, 'vad.yaml');
  writeFileSync(
    threat,
    [
      'knowledge: white-box',
      'norm: linf',
      'eps: [0.05]',
      'input: { bounds: [-1, 1] }',
      `model: { input: input, output: output, feeds: { sr: 16000, state: ${join(ZOO, `${name}.feeds`, 'state.npy')} } }`,
      `data: { x: ${x(name)}, labels: ${labels(name, [0, 0, 1])} }`,
    ].join('\n'),
  );
  const r = await gibbon('eval', model(name), '--threat', threat, '--attacks', 'fast', '--out', join(work, 'vad-report'));
  assertOk(r);
  assert.match(r.stdout, /2 classes/);
});

test('grad --loss embedding: distance from --reference (predict --out writes the clean embeddings)', async () => {
  const name = 'embedding_n11d_op14';
  const ref = join(work, 'emb.ref.npy');
  assertOk(await gibbon('predict', model(name), '--input', x(name), '--out', ref));
  assert.deepEqual(readNpy(ref).shape, [3, 8]);
  const t = readNpy(x(name));
  const moved = join(work, 'emb.moved.npy');
  writeNpy(moved, { type: 'float32', data: Float32Array.from(toFloat32(t), (v, i) => v + 0.05 * Math.cos(i)), shape: t.shape });
  const out = join(work, 'emb.grad.npy');
  const r = await gibbon('grad', model(name), '--input', moved, '--loss', 'embedding', '--reference', ref, '--out', out);
  assertOk(r);
  assert.ok(toFloat32(readNpy(out)).some((v) => v !== 0));
  assertFails(await gibbon('grad', model(name), '--input', moved, '--loss', 'embedding', '--out', out), /needs the reference embeddings: add --reference/, 2);
  assertFails(await gibbon('grad', model(name), '--input', moved, '--loss', 'ce', '--out', out), /needs the true classes: add --labels/, 2);
});
