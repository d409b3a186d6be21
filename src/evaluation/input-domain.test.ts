/** The threat model's input domain beyond [0, 1]: normalisation (mean/std), the model section, uint8 data on any bounds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { writeNpy } from '../tensor/npy.js';
import { loadEvaluationData } from './data.js';
import { parseThreatModel, validateThreatModel } from './threat-model.js';

const BASE = { knowledge: 'white-box', norm: 'linf', eps: [8], data: 'mnist-test' };

test('input.mean and input.std: read, kept in the threat model, and checked together', () => {
  const tm = validateThreatModel({ ...BASE, input: { bounds: [0, 255], mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] } });
  assert.deepEqual(tm.input.mean, [123.675, 116.28, 103.53]);
  assert.deepEqual(tm.input.std, [58.395, 57.12, 57.375]);
  const fails = (input: unknown, field: string, pattern: RegExp): void =>
    assert.throws(
      () => validateThreatModel({ ...BASE, input }),
      (e: GibbonError) => e.location.option === field && pattern.test(e.message),
    );
  fails({ bounds: [0, 255], mean: [1, 2, 3] }, 'input.std', /go together/);
  fails({ bounds: [0, 255], mean: [1, 2, 3], std: [1, 2] }, 'input.std', /2 values but input.mean has 3/);
  fails({ bounds: [0, 255], mean: [1], std: [0] }, 'input.std[0]', /finite number > 0/);
  fails({ bounds: [0, 255], scale: 2 }, 'input.scale', /valid fields of input: bounds, shape, preprocessing, mean, std/);
});

test('the model section: feeds resolved against the file, unknown fields named', () => {
  const tm = parseThreatModel(
    [
      'knowledge: white-box',
      'norm: linf',
      'eps: [0.1]',
      'input: { bounds: [-1, 1] }',
      'model: { input: input, output: output, output_reduce: mean, feeds: { sr: 16000, state: s.npy } }',
      'data: mnist-test',
    ].join('\n'),
    'vad.yaml',
    { baseDir: '/models/vad' },
  );
  assert.deepEqual(tm.model, { input: 'input', output: 'output', output_reduce: 'mean', feeds: { sr: 16000, state: '/models/vad/s.npy' } });
  assert.throws(
    () => validateThreatModel({ ...BASE, eps: [0.1], model: { inputs: 'x' } }),
    /unknown field 'model.inputs'; valid fields of model: input, feeds, output, output_reduce/,
  );
  assert.throws(() => validateThreatModel({ ...BASE, eps: [0.1], model: { output_reduce: 'sum' } }), /model.output_reduce must be one of mean, max, flatten/);
});

test('uint8 data is mapped from 0…255 onto input.bounds: unchanged on [0, 255], pixels / 255 on [0, 1], onto [-1, 1]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gibbon-domain-'));
  try {
    const x = join(dir, 'x.npy');
    const y = join(dir, 'y.npy');
    writeNpy(x, { type: 'uint8', data: Uint8Array.of(0, 51, 255, 102), shape: [1, 4] });
    writeNpy(y, { type: 'int64', data: BigInt64Array.of(0n), shape: [1] });
    const model = { inputShape: [null, 4], numClasses: 2 };
    const read = (bounds: [number, number]): number[] => [
      ...loadEvaluationData(validateThreatModel({ ...BASE, eps: [0], input: { bounds }, data: { x, labels: y } }), model).x.data,
    ];
    assert.deepEqual(read([0, 255]), [0, 51, 255, 102]);
    assert.deepEqual(
      read([0, 1]).map((v) => Math.round(v * 1000) / 1000),
      [0, 0.2, 1, 0.4],
    );
    assert.deepEqual(
      read([-1, 1]).map((v) => Math.round(v * 1000) / 1000),
      [-1, -0.6, 1, -0.2],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
