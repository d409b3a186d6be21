import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startModelServer, type ModelServer } from '../../test/helpers/model-server.js';
import { referenceInputs, referenceModelPath } from '../attacks/testing/reference-data.js';
import { GibbonError } from '../errors.js';
import { OnnxModel } from '../model/onnx-model.js';
import { resolveEnsemble } from './presets.js';
import { openModels } from './open-models.js';
import { evaluate } from './runner.js';
import { validateThreatModel, type ThreatModel } from './threat-model.js';

const MODEL = referenceModelPath('mnist_mlp');
const BASE = { norm: 'linf', eps: [0.1], input: { bounds: [0, 1], shape: [1, 28, 28] }, data: 'mnist-test', n: 2 };
const { x } = referenceInputs(4);
let onnx: OnnxModel;
let scores: ModelServer;
let labels: ModelServer;

before(async () => {
  onnx = await OnnxModel.load(MODEL, { threads: 1 });
  scores = await startModelServer(onnx);
  labels = await startModelServer(onnx, { outputs: 'label' });
});
after(async () => {
  await scores.close();
  await labels.close();
  await onnx.dispose();
});

const endpointThreat = (knowledge: string, endpoint: Record<string, unknown>): ThreatModel =>
  validateThreatModel({ ...BASE, knowledge, endpoint: { retries: 0, ...endpoint } });

function optionError(option: string, pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof GibbonError, String(e));
    assert.equal(e.location.option, option, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

test('an ONNX file is the target and its own white-box model; it backs every oracle', async () => {
  const models = await openModels(validateThreatModel({ ...BASE, knowledge: 'white-box' }), MODEL, { model: { threads: 1 } });
  try {
    assert.equal(models.white, models.target);
    assert.deepEqual(models.facts, { kind: 'onnx', path: MODEL, oracles: ['gradient', 'score', 'decision'] });
    assert.equal(models.endpoint, undefined);
  } finally {
    await models.dispose();
  }
});

test('an endpoint is a target without gradients: the same logits as the file, scores and decisions only', async () => {
  const models = await openModels(endpointThreat('scores', { url: scores.url }), undefined);
  try {
    assert.equal(models.white, undefined);
    assert.ok(!('lossAndGrad' in models.target) && !('gradientGraphFor' in models.target), 'no gradient methods, not even ones that reject');
    assert.deepEqual(models.facts, { kind: 'endpoint', path: scores.url, oracles: ['score', 'decision'] });
    assert.deepEqual(Array.from((await models.target.logits(x)).data), Array.from((await onnx.logits(x)).data));
    assert.equal(models.target.numClasses, 10, 'asked of the endpoint');
    assert.equal(models.endpoint?.stats.requests, 2, 'the class-count probe and one query');
  } finally {
    await models.dispose();
  }
  const decisions = await openModels(endpointThreat('decision', { url: labels.url, outputs: 'label', num_classes: 10 }), undefined);
  assert.deepEqual([decisions.facts.oracles, decisions.target.decisionOnly], [['decision'], true]);
  await decisions.dispose();
});

test('refusals name the field: a file next to an endpoint, knowledge the target cannot serve, a shape that does not fit', async () => {
  const tm = endpointThreat('scores', { url: scores.url, num_classes: 10 });
  await assert.rejects(openModels(tm, MODEL), optionError('endpoint', /both MODEL \(.*mnist_mlp.onnx\) and the threat model's endpoint/));
  // A threat model built in code, past validateThreatModel's own refusal.
  const white = { ...tm, knowledge: 'white-box' } as ThreatModel;
  await assert.rejects(openModels(white, undefined), optionError('knowledge', /knowledge 'white-box' needs gradient answers, which http:.* cannot give/));
  const wide = validateThreatModel({ ...BASE, knowledge: 'white-box', input: { bounds: [0, 1], shape: [3, 28, 28] } });
  await assert.rejects(openModels(wide, MODEL), optionError('input.shape', /\[3, 28, 28\] does not fit/));
});

test('evaluate() refuses white-box knowledge without the white model (a target alone has no gradients)', async () => {
  const tm = validateThreatModel({ ...BASE, knowledge: 'white-box' });
  const data = { x, labels: new Int32Array(4), source: 'reference', notes: [] };
  await assert.rejects(
    evaluate({ model: onnx, modelPath: MODEL, threatModel: tm, data, ensemble: resolveEnsemble('fgsm') }),
    optionError('knowledge', /knowledge 'white-box' needs the gradients of .*mnist_mlp.onnx/),
  );
});
