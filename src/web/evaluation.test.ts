import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleReport } from '../report/testing/sample-report.js';
import { BUNDLED_SAMPLES, evaluationInputs, finishedOutcome, REPORT_GALLERY_SIZE } from './evaluation.js';
import type { EvaluationRequest } from './protocol.js';

const model = { inputShape: [null, 1, 2, 2], numClasses: 3 };

function request(overrides: Partial<EvaluationRequest> = {}): EvaluationRequest {
  return {
    x: { data: Float32Array.from([0, 0.5, 1, 0.25, 0.1, 0.2, 0.3, 0.4, 1, 1, 1, 1]), shape: [3, 1, 2, 2] },
    labels: Int32Array.from([0, 2, 1]),
    source: 'x.npy',
    bounds: [0, 1],
    norm: 'linf',
    eps: [0.3, 0.1],
    attacks: ['pgd'],
    n: 2,
    seed: 7,
    checks: true,
    ...overrides,
  };
}

test('a form request becomes the runner options gibbon eval would use: first n examples, validated threat model, ensemble', () => {
  const o = evaluationInputs(request(), model, 'm.onnx');
  assert.deepEqual(o.threatModel.eps, [0.1, 0.3]);
  assert.equal(o.threatModel.seed, 7);
  assert.deepEqual([...o.data.x.shape], [2, 1, 2, 2]);
  assert.deepEqual([...o.data.x.data], [...Float32Array.from([0, 0.5, 1, 0.25, 0.1, 0.2, 0.3, 0.4])]);
  assert.deepEqual([...o.data.labels], [0, 2]);
  assert.deepEqual(
    o.ensemble.stages.map((s) => s.attack),
    ['pgd'],
  );
  assert.equal(o.modelPath, 'm.onnx');
  assert.equal(evaluationInputs(request({ source: BUNDLED_SAMPLES }), model, 'm').threatModel.data, 'mnist-test');
});

test('requests that do not fit are refused naming the field', () => {
  assert.throws(() => evaluationInputs(request({ n: 4 }), model, 'm'), /n = 4 but x\.npy holds 3 examples/);
  assert.throws(() => evaluationInputs(request({ labels: Int32Array.from([0, 1]) }), model, 'm'), /3 examples but 2 labels/);
  assert.throws(() => evaluationInputs(request({ labels: Int32Array.from([5, 1, 1]) }), model, 'm'), /label 5 at index 0 is not a class/);
  assert.throws(() => evaluationInputs(request({ bounds: [0, 0.5] }), model, 'm'), /eps|outside/);
  assert.throws(() => evaluationInputs(request({ eps: [0.1], bounds: [0, 0.5] }), model, 'm'), /x\.npy/);
  assert.throws(() => evaluationInputs(request({ attacks: ['nope'] }), model, 'm'), /unknown attack 'nope'/);
  assert.throws(() => evaluationInputs(request(), { inputShape: [null, 1, 3, 3], numClasses: 3 }, 'm'), /shape/);
});

test('the downloaded report keeps the CLI’s gallery of 3 per ε; the page keeps them all', () => {
  const base = sampleReport();
  const item = base.gallery[0]!;
  const report = { ...base, gallery: Array.from({ length: 5 }, (_, i) => ({ ...item, index: i })) };
  const outcome = finishedOutcome(report, 1.5);
  assert.equal(outcome.report.gallery.length, 5);
  assert.equal(JSON.parse(outcome.reportJson).gallery.length, REPORT_GALLERY_SIZE);
  assert.match(outcome.reportHtml, /^<!doctype html>/);
  assert.match(outcome.chartSvg, /^<svg/);
});
