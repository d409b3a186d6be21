/** Library errors name API options; the CLI shows the flag of the command that ran. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { checkSmoothingOptions } from '../certify/smoothing.js';
import { checkAdversary } from '../training/methods.js';
import { eotOracle } from '../model/eot.js';
import type { GradientOracle } from '../model/oracles.js';
import { flagFor, formatCliError } from './option-flags.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}

test('flagFor: kebab-case, renamed options, and only flags the command declares', () => {
  assert.equal(flagFor('train', 'stepSize'), '--step-size');
  assert.equal(flagFor('train', 'kappaFinal'), '--kappa-final');
  assert.equal(flagFor('certify', 'n'), '--samples');
  assert.equal(flagFor('eval', 'n'), '--n');
  assert.equal(flagFor('eval', 'eotSamples'), '--eot');
  assert.equal(flagFor('detect', 'targetFpr'), '--fpr');
  // eval's ε come from the threat model: no --eps there.
  assert.equal(flagFor('eval', 'eps'), undefined);
  assert.equal(flagFor('info', 'batchSize'), undefined);
});

test('the library names the API option; the CLI prints the flag as before', () => {
  const stepSize = thrown(() => checkAdversary('pgd-at', { norm: 'linf', eps: 0.3, steps: 10, stepSize: 0, bounds: { lower: 0, upper: 1 } }));
  assert.ok(stepSize instanceof GibbonError && stepSize.location.option === 'stepSize');
  assert.equal(stepSize.message, 'stepSize must be a positive number; got 0');
  assert.equal(formatCliError(stepSize, 'train'), '✖ --step-size must be a positive number; got 0');

  const samples = thrown(() => checkSmoothingOptions({ sigma: 0.25, n0: 100, n: 0, alpha: 0.001 }));
  assert.ok(samples instanceof GibbonError && samples.location.option === 'n');
  assert.equal(formatCliError(samples, 'certify'), '✖ --samples must be a positive integer; got 0');

  const eps = thrown(() => checkAdversary('trades', { norm: 'linf', eps: -1, steps: 10, stepSize: 0.01, bounds: { lower: 0, upper: 1 } }));
  assert.equal(formatCliError(eps, 'train'), "✖ --eps must be a positive number for method 'trades'; got -1");
  // A command without the flag keeps the API name (and the error stays one line).
  assert.equal(formatCliError(eps, 'eval'), "✖ eps must be a positive number for method 'trades'; got -1");
});

test('an option not named in the message is shown as the flag after the message', () => {
  const eot = thrown(() => eotOracle({} as GradientOracle, 0));
  assert.equal(formatCliError(eot, 'eval'), '✖ --eot must be a positive integer; got 0');
  const fpr = new GibbonError('invalid_option', 'the target false-positive rate must be in [0, 1); got 2', { option: 'targetFpr' });
  assert.equal(formatCliError(fpr, 'detect'), '✖ the target false-positive rate must be in [0, 1); got 2 → at option --fpr');
  assert.equal(formatCliError(fpr, undefined), '✖ the target false-positive rate must be in [0, 1); got 2 → at option targetFpr');
});

test('"option NAME" inside a message becomes the flag; other words are left alone', () => {
  const shape = new GibbonError('invalid_model', "input 'x' has no declared shape; give its shape (option inputShapes)", { option: 'inputShapes' });
  assert.equal(formatCliError(shape, 'predict'), "✖ input 'x' has no declared shape; give its shape (--input-shape)");
  const reduce = new GibbonError('invalid_option', 'say how to read class scores from it: option outputReduce mean or max', { option: 'outputReduce' });
  assert.equal(formatCliError(reduce, 'eval'), '✖ say how to read class scores from it: --output-reduce mean or max');
  const norm = thrown(() => checkAdversary('ibp', { norm: 'l2', eps: 0.1, steps: 0, stepSize: 0, bounds: { lower: 0, upper: 1 } }));
  assert.equal(formatCliError(norm, 'train'), "✖ method 'ibp' bounds L∞ boxes; got --norm l2 (use linf)");
});

test('every "option NAME" the command has a flag for is translated, whatever the error is about', () => {
  const advice = new GibbonError('training_diverged', 'the loss became NaN in epoch 2; lower option lr or set option clipGrad', {});
  assert.equal(formatCliError(advice, 'train'), '✖ the loss became NaN in epoch 2; lower --lr or set --clip-grad');
  const attack = new GibbonError('invalid_option', 'pgd: option steps must be a positive integer; got 0', { option: 'steps' });
  assert.equal(formatCliError(attack, 'ctc-attack'), '✖ pgd: --steps must be a positive integer; got 0');
  assert.equal(formatCliError(attack, 'eval'), '✖ pgd: option steps must be a positive integer; got 0');
});
