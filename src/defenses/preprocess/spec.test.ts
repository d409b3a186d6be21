import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../../errors.js';
import { parsePreprocessSpec } from './spec.js';

test('a SPEC becomes its steps in order, with values and the resize-pad default', () => {
  const steps = parsePreprocessSpec(' bit-depth:4 , median:2,quantize:16,resize-pad:0.75,resize-pad');
  assert.deepEqual(
    steps.map((s) => s.name),
    ['bit-depth:4', 'median:2', 'quantize:16', 'resize-pad:0.75', 'resize-pad:0.8'],
  );
  assert.deepEqual(
    steps.map((s) => s.randomized),
    [false, false, false, true, true],
  );
});

test('a bad SPEC fails with invalid_option, quoting the spec and the step and listing the grammar', () => {
  const cases: [string, RegExp][] = [
    [
      'bit-dept:4',
      /--preprocess 'bit-dept:4': unknown step 'bit-dept' in 'bit-dept:4'; give a comma list of bit-depth:BITS, median:SIZE, quantize:LEVELS, resize-pad:MIN_SCALE/,
    ],
    ['bit-depth', /step 'bit-depth' needs a value \(bit-depth:BITS\)/],
    ['median:2.5', /'2\.5' in 'median:2\.5' is not an integer/],
    ['median:12', /in 'median:12': median filter size must be an integer from 1 to 9; got 12/],
    ['quantize:1', /quantisation levels must be an integer from 2 to 256; got 1/],
    ['resize-pad:1.2', /resize-pad minimum scale must be a number in \(0, 1\]; got 1\.2/],
    ['resize-pad:abc', /'abc' in 'resize-pad:abc' is not a number/],
    ['bit-depth:4,,median:2', /empty step/],
  ];
  for (const [spec, pattern] of cases) {
    assert.throws(
      () => parsePreprocessSpec(spec, '--preprocess'),
      (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && e.location.option === '--preprocess' && pattern.test(e.message),
      spec,
    );
  }
});
