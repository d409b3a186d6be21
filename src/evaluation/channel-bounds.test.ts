/** Per-channel bounds: the threat-model fields, the unit-space mapping put in front of a model, and data mapped in and out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { fromUnitSpace, parseChannelDomain, toUnitSpace, uint8OntoChannels, unitSpaceNormalization } from '../model/channel-domain.js';
import { evaluatedNormalization, inputDomainText } from './channel-bounds.js';
import { validateThreatModel, withOverrides } from './threat-model.js';

const BASE = { knowledge: 'white-box', norm: 'linf', eps: [0.1], data: 'mnist-test' };
const RANGES = { lower: [0, -100, 0], upper: [1, 100, 5000] };

test('input.lower/upper: attacks run in [0, 1], the convention is recorded, a second validation accepts the result', () => {
  const tm = validateThreatModel({ ...BASE, input: RANGES });
  assert.deepEqual(tm.input.bounds, [0, 1]);
  assert.deepEqual([tm.input.lower, tm.input.upper], [RANGES.lower, RANGES.upper]);
  assert.match(tm.input.attack_space!, /fractions of each channel’s range/);
  assert.deepEqual(withOverrides(tm, { n: 5 }).input, tm.input);
  assert.match(inputDomainText(tm.input), /^inputs in \[0, 1\], \[-100, 100\], \[0, 5000\] per channel, attacked in \[0, 1\] per channel/);
  assert.equal(inputDomainText(validateThreatModel({ ...BASE, input: { bounds: [0, 255] }, eps: [8] }).input), 'inputs in [0, 255]');
  // ε is a fraction of each range: 1.5 exceeds the unit space.
  assert.throws(() => validateThreatModel({ ...BASE, eps: [1.5], input: RANGES }), /eps\[0\] = 1.5 is outside the input domain/);
  const fails = (input: unknown, field: string, pattern: RegExp): void =>
    assert.throws(
      () => validateThreatModel({ ...BASE, input }),
      (e: GibbonError) => e.location.option === field && pattern.test(e.message),
    );
  fails({ lower: [0, 1] }, 'input.upper', /go together/);
  fails({ lower: [0, 1], upper: [1] }, 'input.upper', /as many lower as upper bounds \(one per channel\); got 2 and 1/);
  fails({ lower: [0, 5], upper: [1, 5] }, 'input.upper', /channel 1 has lower 5 and upper 5/);
  fails({ ...RANGES, bounds: [0, 255] }, 'input.bounds', /exclude each other/);
  fails({ ...RANGES, mean: [1, 2], std: [1, 1] }, 'input.mean', /2 values but input.lower has 3/);
  fails({ shape: [3] }, 'input.bounds', /input.bounds is missing/);
});

test('the unit-space normalisation is x = lower + (upper − lower)·u, composed with (x − mean) / std', () => {
  const u = [0.25, 0.5, 0.9];
  const raw = u.map((v, c) => RANGES.lower[c]! + (RANGES.upper[c]! - RANGES.lower[c]!) * v);
  const plain = unitSpaceNormalization(RANGES);
  plain.mean.forEach((m, c) => assert.ok(Math.abs((u[c]! - m) / plain.std[c]! - raw[c]!) < 1e-9 * (1 + Math.abs(raw[c]!))));
  const norm = { mean: [0.5, 3, 2000], std: [0.2, 50, 1000] };
  const composed = evaluatedNormalization({ ...RANGES, ...norm });
  composed.mean!.forEach((m, c) => {
    const expected = (raw[c]! - norm.mean[c]!) / norm.std[c]!;
    assert.ok(Math.abs((u[c]! - m) / composed.std![c]! - expected) < 1e-9, `channel ${c}`);
  });
  // Without per-channel bounds, mean/std pass through unchanged.
  assert.deepEqual(evaluatedNormalization({ bounds: [0, 255], ...norm }), norm);
});

test('data map into the unit space and back per channel (axis 1), values outside their channel are named, uint8 spans each range', () => {
  const images = { lower: [0, -1], upper: [255, 1] };
  const x = { data: Float32Array.of(0, 51, 255, 102, -1, 0, 1, 0.5), shape: [1, 2, 2, 2] };
  const u = toUnitSpace(x, images, 'x.npy', 'data.x');
  assert.deepEqual(
    Array.from(u.data, (v) => Math.round(v * 1000) / 1000),
    [0, 0.2, 1, 0.4, 0, 0.5, 1, 0.75],
  );
  const back = fromUnitSpace(u, images);
  back.data.forEach((v, i) => assert.ok(Math.abs(v - x.data[i]!) < 1e-4));
  assert.throws(
    () => toUnitSpace({ data: Float32Array.of(0.5, 150, 10), shape: [1, 3] }, RANGES, 'x.npy', 'data.x'),
    /x\.npy has value 150 at flat index 1 \(channel 1\), outside that channel's range \[-100, 100\]/,
  );
  assert.throws(
    () => toUnitSpace({ data: new Float32Array(4), shape: [1, 4] }, RANGES, 'x.npy', 'data.x'),
    /has shape \[1, 4\] but the domain gives 3 channels/,
  );
  assert.deepEqual(Array.from(uint8OntoChannels(Uint8Array.of(0, 255, 51), [1, 3], RANGES)), [0, 100, 1000]);
  assert.deepEqual(parseChannelDomain('0:1, -100:100,0:5000'), RANGES);
  assert.throws(() => parseChannelDomain('0:1,5:2'), /channel 1 has lower 5 and upper 2/);
  assert.throws(() => parseChannelDomain('0:1,5'), /LOW:HIGH pairs/);
});
