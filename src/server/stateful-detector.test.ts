import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { parsePolicy } from './policy.js';
import { calibrateThreshold, encodeQuery, StatefulDetector } from './stateful-detector.js';

const SHAPE = [1, 28, 28];
const OPTIONS = { k: 5, threshold: 0.05, window: 100, encodingSide: 8 };

function randomImages(n: number, rng: Rng): Tensor {
  return { data: rng.fillUniform(new Float32Array(n * 784)), shape: [n, ...SHAPE] };
}

/** n queries around one image, each changing a random 4×4 square by ±0.3 (what Square asks). */
function squareLikeQueries(n: number, rng: Rng): Tensor {
  const base = rng.fillUniform(new Float32Array(784));
  const out = new Float32Array(n * 784);
  for (let q = 0; q < n; q++) {
    const img = out.subarray(q * 784, (q + 1) * 784);
    img.set(base);
    const [y0, x0, sign] = [rng.integer(24), rng.integer(24), rng.uniform() < 0.5 ? -0.3 : 0.3];
    for (let y = y0; y < y0 + 4; y++) for (let x = x0; x < x0 + 4; x++) img[y * 28 + x] = Math.min(1, Math.max(0, img[y * 28 + x]! + sign));
  }
  return { data: out, shape: [n, ...SHAPE] };
}

test('encodeQuery average-pools an image to side × side per channel', () => {
  const x = Float32Array.from({ length: 784 }, (_, i) => (Math.floor(i / 28) < 14 ? 1 : 0));
  const e = encodeQuery(x, SHAPE, 8);
  assert.equal(e.length, 64);
  assert.equal(e[0], 1);
  assert.equal(e[63], 0);
  const total = e.reduce((a, b) => a + b, 0);
  assert.ok(total > 28 && total < 36, `about half the cells are bright: ${total}`);
  assert.equal(
    encodeQuery(new Float32Array(784).fill(0.25), SHAPE, 8).every((v) => Math.abs(v - 0.25) < 1e-6),
    true,
  );
});

test('near-duplicate query sequences are flagged once k queries are kept; unrelated ones are not', () => {
  const rng = new Rng(1);
  const detector = new StatefulDetector(OPTIONS, SHAPE);
  const attack = detector.observe('attacker', squareLikeQueries(30, rng));
  assert.equal(
    attack.slice(0, OPTIONS.k).every((s) => s.distance === Infinity && !s.flagged),
    true,
    'no verdict before k queries',
  );
  assert.equal(
    attack.slice(OPTIONS.k).every((s) => s.flagged),
    true,
  );
  assert.equal(detector.clientStats('attacker')!.firstFlag, OPTIONS.k + 1);
  const benign = detector.observe('benign', randomImages(30, rng));
  assert.equal(
    benign.some((s) => s.flagged),
    false,
  );
  // Pooled uniform noise: each cell averages ~12 pixels (std 0.29/√12), two such images are ~0.12 apart.
  assert.ok(benign[29]!.distance > 0.08);
  assert.deepEqual(detector.clientStats('benign'), { queries: 30, flags: 0, firstFlag: 0 });
});

test('each client has its own history, at most maxClients are kept (least recently seen forgotten), and the window bounds it', () => {
  const rng = new Rng(2);
  const detector = new StatefulDetector({ ...OPTIONS, maxClients: 2, window: 8 }, SHAPE);
  const one = squareLikeQueries(1, rng);
  for (let i = 0; i < 6; i++) detector.observe('a', one);
  assert.equal(detector.observe('b', one)[0]!.flagged, false, "a's queries do not count for b");
  detector.observe('a', one);
  detector.observe('c', one);
  assert.equal(detector.clientStats('b'), undefined, 'b was least recently seen');
  assert.equal(detector.clientStats('a')!.queries, 7);
  for (let i = 0; i < 20; i++) detector.observe('d', randomImages(1, rng));
  // After 20 random queries, a window of 8 remembers none of 'one'.
  assert.equal(detector.observe('d', one)[0]!.flagged, false);
});

test('calibrateThreshold returns the fpr quantile of benign scores', () => {
  const rng = new Rng(3);
  const streams = [randomImages(40, rng), randomImages(40, rng)];
  const low = calibrateThreshold(streams, SHAPE, OPTIONS, 0);
  const high = calibrateThreshold(streams, SHAPE, OPTIONS, 0.5);
  assert.ok(low > 0.08 && low < high, `${low} < ${high}`);
  const detector = new StatefulDetector({ ...OPTIONS, threshold: low }, SHAPE);
  const flagged = streams.flatMap((x, i) => detector.observe(`c${i}`, x)).filter((s) => s.flagged).length;
  assert.equal(flagged, 0, 'nothing is below the smallest benign score');
});

test('policy files are checked field by field', () => {
  const p = parsePolicy(
    { detectors: { combined: { threshold: 3, action: 'refuse' } }, flag_action: 'hold-for-review', stateful: { threshold: 0.05 } },
    'p.yaml',
  );
  assert.deepEqual(p.detectors['combined'], { threshold: 3, action: 'refuse' });
  assert.equal(p.stateful!.k, 20);
  assert.equal(p.flagAction, 'hold-for-review');
  assert.throws(() => parsePolicy({ flag_action: 'ignore' }, 'p.yaml'), /policy p\.yaml is not valid: flag_action/);
  assert.throws(() => parsePolicy({ stateful: { k: 5 } }, 'p.yaml'), /stateful\.threshold/);
  assert.throws(() => parsePolicy({ detector: {} }, 'p.yaml'), /Unrecognized key/);
});
