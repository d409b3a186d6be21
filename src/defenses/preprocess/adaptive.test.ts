/**
 * The adaptive point, on the bundled models/mnist-standard.onnx (50 MNIST test images, L∞ ε = 0.3,
 * PGD-20 with step 2.5·ε/20 and a random start):
 * - behind bit-depth reduction or a uint8 quantiser, plain PGD sees the true gradient through
 *   Round/QuantizeLinear (zero) and leaves the model looking robust; PGD with BPDA (the identity
 *   on the backward pass) breaks it;
 * - behind random resize-pad, EOT PGD (gradients averaged over 8 passes) is stronger than plain
 *   PGD, judged by one pass (as the harness does) and by the prediction averaged over 16 passes;
 * - the median filter is differentiable: plain PGD breaks it.
 * Measured numbers are in the assertion comments; resize-pad is seeded so the runs repeat.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runAttack } from '../../attacks/attack.js';
import { createAttack } from '../../attacks/registry.js';
import type { NonDifferentiablePolicy } from '../../autodiff/surrogates.js';
import { defaultModelPath } from '../../cli/package-root.js';
import { loadEvaluationData, type EvaluationData } from '../../evaluation/data.js';
import { validateThreatModel } from '../../evaluation/threat-model.js';
import { eotOracle } from '../../model/eot.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { gradientOracle, type GradientOracle } from '../../model/oracles.js';
import { loadModel, type ModelIR } from '../../onnx/model.js';
import { argmaxRows, type Tensor } from '../../tensor/tensor.js';
import { bitDepth } from './bit-depth.js';
import { applyInputTransforms, PREPROCESS_METADATA_KEY, type InputTransform } from './input-transform.js';
import { medianFilter } from './median-filter.js';
import { quantize } from './quantize.js';
import { randomResizePad } from './random-resize-pad.js';

const N = 50;
const PGD_20 = { steps: 20, relStepsize: 2.5 / 20 };
const threatModel = validateThreatModel({ knowledge: 'white-box', norm: 'linf', eps: [0.3], data: 'mnist-test', n: N, seed: 0 });

let target: ModelIR;
let data: EvaluationData;
before(() => {
  target = loadModel(defaultModelPath());
});

const accuracy = (success: Uint8Array): number => 1 - success.reduce((a, b) => a + b, 0) / success.length;

function agreement(logits: Tensor, labels: ArrayLike<number | bigint>): number {
  const predicted = argmaxRows(logits);
  let right = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === Number(labels[i])) right++;
  return right / predicted.length;
}

async function withModel<T>(transforms: readonly InputTransform[], nonDifferentiable: NonDifferentiablePolicy, fn: (m: OnnxModel) => Promise<T>): Promise<T> {
  const model = await OnnxModel.load(applyInputTransforms(target, transforms), { threads: 2, batchSize: N, nonDifferentiable });
  try {
    data ??= loadEvaluationData(threatModel, model);
    return await fn(model);
  } finally {
    await model.dispose();
  }
}

async function pgd(oracle: GradientOracle): Promise<{ robust: number; adversarial: Tensor }> {
  const out = await runAttack(createAttack('pgd', PGD_20), oracle, data.x, data.labels, { eps: 0.3, norm: 'linf', seed: 1 });
  return { robust: accuracy(out.success), adversarial: out.clipped };
}

test('the defended model keeps the input and output names, records its steps, and classifies as before', async () => {
  const defended = applyInputTransforms(target, [bitDepth(4), medianFilter(2)]);
  assert.deepEqual(
    defended.graph.inputs.map((v) => v.name),
    target.graph.inputs.map((v) => v.name),
  );
  assert.deepEqual(
    defended.graph.outputs.map((v) => v.name),
    target.graph.outputs.map((v) => v.name),
  );
  assert.equal(defended.proto.metadataProps.find((p) => p.key === PREPROCESS_METADATA_KEY)?.value, 'bit-depth:4,median:2');
  // Applying again puts the new steps in front of the old ones.
  const twice = applyInputTransforms(defended, [quantize(16)]);
  assert.equal(twice.proto.metadataProps.find((p) => p.key === PREPROCESS_METADATA_KEY)?.value, 'quantize:16,bit-depth:4,median:2');
  const added = defended.graph.nodes.filter((n) => n.name.startsWith('defense/')).map((n) => n.opType);
  assert.deepEqual(added, ['Mul', 'Round', 'Div', 'Pad', 'Conv', 'Reshape', 'TopK', 'Slice', 'Reshape']);
  assert.equal(defended.graph.nodes.indexOf(defended.graph.nodes.find((n) => n.opType === 'Round')!), 1, 'the steps run first');
  await withModel([bitDepth(4), medianFilter(2)], 'zero', async (m) => {
    assert.equal(m.numClasses, 10);
    // Measured: 98% (the undefended model: 98%).
    assert.ok(agreement(await m.logits(data.x), data.labels) >= 0.94);
  });
});

describe('BPDA against non-differentiable squeezers (50 images, ε = 0.3)', () => {
  for (const [label, transform] of [
    ['bit-depth:4', bitDepth(4)],
    ['quantize:16 (QuantizeLinear → DequantizeLinear)', quantize(16)],
  ] as const) {
    test(`${label}: plain PGD-20 leaves ≥ 90% robust; BPDA (identity) PGD-20 leaves ≤ 10%`, async () => {
      // Measured: plain 98% (the gradient is exactly zero); BPDA 0%.
      const plain = await withModel([transform], 'zero', async (m) => pgd(gradientOracle(m)));
      assert.ok(plain.robust >= 0.9, `plain ${plain.robust}`);
      const bpda = await withModel([transform], 'identity', async (m) => pgd(gradientOracle(m)));
      assert.ok(bpda.robust <= 0.1, `BPDA ${bpda.robust}`);
    });
  }

  test('median:2 is differentiable: plain PGD-20 breaks it (≤ 10%)', async () => {
    // Measured: 0%.
    const plain = await withModel([medianFilter(2)], 'zero', async (m) => pgd(gradientOracle(m)));
    assert.ok(plain.robust <= 0.1, `plain ${plain.robust}`);
  });
});

describe('EOT against random resize-pad (0.8, seeded; 50 images, ε = 0.3)', () => {
  let plain: { robust: number; expected: number };
  let eot: { robust: number; expected: number };
  before(async () => {
    const run = (samples: number): Promise<{ robust: number; expected: number }> =>
      withModel([randomResizePad(0.8, { seed: 1 })], 'zero', async (m) => {
        const r = await pgd(eotOracle(gradientOracle(m), samples));
        // The defended model's expected prediction: logits averaged over 16 passes.
        return { robust: r.robust, expected: agreement(await eotOracle(gradientOracle(m), 16).logits(r.adversarial), data.labels) };
      });
    plain = await run(1);
    eot = await run(8);
  });

  test('EOT-8 PGD-20 is at least as strong as plain PGD-20, judged by one pass and by 16', () => {
    // Measured: one pass 50% plain vs 20% EOT; 16-pass average 56% vs 20%.
    assert.ok(eot.robust <= plain.robust, `one pass: EOT ${eot.robust}, plain ${plain.robust}`);
    assert.ok(eot.expected <= plain.expected - 0.1, `16 passes: EOT ${eot.expected}, plain ${plain.expected}`);
    assert.ok(eot.expected <= 0.35, `EOT ${eot.expected}`);
  });
});
