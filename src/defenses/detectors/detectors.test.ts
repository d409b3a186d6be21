import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../onnx/model.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { softmaxRows } from '../../model/oracles.js';
import type { Tensor } from '../../tensor/tensor.js';
import { GibbonError } from '../../errors.js';
import { buildDetectorModel, DETECTOR_KINDS, type CombinedParams, type DetectorParams, type MahalanobisParams } from './detector.js';
import { SINGLE_DETECTORS } from './index.js';
import { EquippedModel } from './equipped-model.js';
import { chooseFeatures } from './features.js';
import { prepareClassifier } from './detector.js';
import { fitMahalanobis, inverseSpd, mahalanobisScore } from './mahalanobis.js';
import { STANDARD_MODEL, testImages } from './testing/mnist-fixtures.js';

const N = 6;

async function onnxScores(
  params: DetectorParams,
  x: Tensor,
  extra: string[] = [],
): Promise<{ score: Float32Array; logits: Tensor; extra: ReadonlyMap<string, Float32Array> }> {
  const m = await EquippedModel.create(loadModel(STANDARD_MODEL), params, { threads: 1, extraOutputs: extra });
  try {
    return await m.run(x);
  } finally {
    await m.dispose();
  }
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

// Clean digits plus two inputs off the data: noise and a blank image.
function inputs(): Tensor {
  const { x } = testImages('mnist', N - 2);
  const data = new Float32Array(N * 784);
  data.set(x.data);
  for (let j = 0; j < 784; j++) data[(N - 2) * 784 + j] = (Math.sin(j * 12.9898) * 43758.5453) % 1 < 0 ? 0.2 : 0.7;
  return { data, shape: [N, 1, 28, 28] };
}

test('msp and energy: the ONNX score equals the plain-JS formula on the logits', async () => {
  const x = inputs();
  const msp = await onnxScores({ kind: 'msp' }, x);
  const p = softmaxRows(msp.logits);
  close(
    msp.score,
    Array.from({ length: N }, (_, i) => -Math.max(...p.data.subarray(i * 10, i * 10 + 10))),
    1e-5,
    'msp',
  );
  for (const t of [1, 2.5]) {
    const energy = await onnxScores({ kind: 'energy', temperature: t }, x);
    const want = Array.from({ length: N }, (_, i) => {
      const z = Array.from(energy.logits.data.subarray(i * 10, i * 10 + 10));
      const m = Math.max(...z);
      return -t * (m / t + Math.log(z.reduce((s, v) => s + Math.exp((v - m) / t), 0)));
    });
    close(energy.score, want, 1e-5, `energy T=${t}`);
  }
});

test('mahalanobis: fitted statistics, and the ONNX score equals min_c (f − μ_c)ᵀP(f − μ_c)', async () => {
  const ir = loadModel(STANDARD_MODEL);
  const { ctx } = prepareClassifier(ir);
  const chosen = chooseFeatures(ctx.graph, ctx.logits, undefined, 'model');
  assert.equal(chosen.value, 'cnn/fc1_14'); // the pre-activation of the last Gemm's input
  const train = testImages('mnist', 400);
  const feats = await onnxScores({ kind: 'msp' }, train.x, [chosen.value]);
  const f = feats.extra.get(chosen.value)!;
  assert.equal(f.length, 400 * 128);
  const params = fitMahalanobis(f, train.y, 10, chosen.value);
  assert.equal(params.means.length, 10);
  assert.equal(params.precision.length, 128);
  // The mean of class 0 is the mean of its features.
  const zeros = [...train.y.keys()].filter((i) => train.y[i] === 0);
  close([params.means[0]![5]!], [zeros.reduce((s, i) => s + f[i * 128 + 5]!, 0) / zeros.length], 1e-6, 'mean');
  const x = inputs();
  const r = await onnxScores(params, x, [chosen.value]);
  const fx = r.extra.get(chosen.value)!;
  const want = Array.from({ length: N }, (_, i) => mahalanobisScore(params, fx.subarray(i * 128, (i + 1) * 128)));
  close(r.score, want, 2e-4, 'mahalanobis');
  // Off-distribution inputs are farther than the digits.
  assert.ok(Math.min(r.score[N - 2]!, r.score[N - 1]!) > Math.max(...r.score.subarray(0, N - 2)));
});

test('inverseSpd inverts a small matrix exactly', () => {
  const a = Float64Array.of(4, 2, 0, 2, 3, 1, 0, 1, 2);
  const inv = inverseSpd(a, 3, 'a');
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[i * 3 + k]! * inv[k * 3 + j]!;
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12);
    }
  }
  assert.throws(() => inverseSpd(Float64Array.of(1, 2, 2, 1), 2, 'the test matrix'), /not positive definite/);
});

/** The squeezers in plain JS: 1-bit depth, and a 2×2 median (rows/cols i−1 and i, edge-padded, upper middle value). */
function bitDepth1(x: Tensor): Tensor {
  return { data: x.data.map((v) => Math.round(v)), shape: x.shape };
}
function median2(x: Tensor): Tensor {
  const out = new Float32Array(x.data.length);
  for (let n = 0; n < x.shape[0]!; n++) {
    for (let i = 0; i < 28; i++) {
      for (let j = 0; j < 28; j++) {
        const at = (r: number, c: number): number => x.data[n * 784 + Math.max(0, r) * 28 + Math.max(0, c)]!;
        const w = [at(i - 1, j - 1), at(i - 1, j), at(i, j - 1), at(i, j)].sort((a, b) => a - b);
        out[n * 784 + i * 28 + j] = w[2]!;
      }
    }
  }
  return { data: out, shape: x.shape };
}

test('squeeze: the ONNX score equals max over squeezers of ‖softmax(z(x)) − softmax(z(squeeze(x)))‖₁', async () => {
  const x = inputs();
  const r = await onnxScores({ kind: 'squeeze', squeezers: ['bit-depth:1', 'median:2'] }, x);
  const model = await OnnxModel.load(STANDARD_MODEL, { threads: 1 });
  try {
    const p = softmaxRows(await model.logits(x));
    const q1 = softmaxRows(await model.logits(bitDepth1(x)));
    const q2 = softmaxRows(await model.logits(median2(x)));
    const l1 = (q: Tensor, i: number): number => {
      let s = 0;
      for (let j = 0; j < 10; j++) s += Math.abs(p.data[i * 10 + j]! - q.data[i * 10 + j]!);
      return s;
    };
    close(
      r.score,
      Array.from({ length: N }, (_, i) => Math.max(l1(q1, i), l1(q2, i))),
      1e-4,
      'squeeze',
    );
  } finally {
    await model.dispose();
  }
});

test('combined: the max of the standardised part scores', async () => {
  const x = inputs();
  const parts: CombinedParams['parts'] = [
    { detector: { kind: 'msp' }, mean: -0.9, std: 0.05 },
    { detector: { kind: 'energy', temperature: 1 }, mean: -12, std: 3 },
  ];
  const r = await onnxScores({ kind: 'combined', parts }, x);
  const a = (await onnxScores({ kind: 'msp' }, x)).score;
  const b = (await onnxScores({ kind: 'energy', temperature: 1 }, x)).score;
  close(
    r.score,
    Array.from({ length: N }, (_, i) => Math.max((a[i]! + 0.9) / 0.05, (b[i]! + 12) / 3)),
    1e-4,
    'combined',
  );
});

test('the detector-equipped model has outputs logits and score; a missing feature value is named', () => {
  const m = buildDetectorModel(loadModel(STANDARD_MODEL), { kind: 'msp' });
  assert.deepEqual(
    m.graph.outputs.map((o) => o.name),
    ['logits', 'score'],
  );
  const bad: MahalanobisParams = { kind: 'mahalanobis', features: 'cnn/nope', means: [[0], [0]], precision: [[1]], shrinkage: 0 };
  assert.throws(
    () => buildDetectorModel(loadModel(STANDARD_MODEL), bad),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_model' && /'cnn\/nope'/.test(e.message) && /mnist-standard\.onnx/.test(e.message),
  );
});

test('detectors are listed as data: every kind but combined once, and an unknown kind is named', () => {
  const kinds = SINGLE_DETECTORS.map((d) => d.kind);
  assert.deepEqual([...kinds, 'combined'].sort(), [...DETECTOR_KINDS].sort());
  assert.equal(new Set(kinds).size, kinds.length);
  assert.throws(
    () => buildDetectorModel(loadModel(STANDARD_MODEL), { kind: 'odin' } as unknown as DetectorParams),
    (e: unknown) => e instanceof GibbonError && /unknown detector kind 'odin'; valid: msp, energy, mahalanobis, squeeze, combined/.test(e.message),
  );
});
