/**
 * IBP training (Gowal et al. 2018): its step's gradients are the clean CE gradients at κ = 1 and
 * match finite differences at κ = 0; a short run on MNIST certifies far more held-out images at
 * ε 0.1 than standard training with the same budget, and the exported model certifies the same
 * with certifyIbp; resume is bit for bit; unsupported models and options fail clearly.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certifyIbp } from '../certify/ibp/certify.js';
import { loadModel, saveModel } from '../onnx/model.js';
import { Rng } from '../random.js';
import { buildArchitecture } from './architectures.js';
import { readCheckpoint } from './checkpoint.js';
import { Trainable } from './trainable.js';
import { train, type TrainOptions } from './trainer.js';
import { isGibbonError, mnistParts, timingFree } from './testing/trainer-assertions.js';

const work = mkdtempSync(join(tmpdir(), 'gibbon-ibp-training-'));
after(() => rmSync(work, { recursive: true, force: true }));

const mnistPart = mnistParts(3500);

test('the IBP step: κ = 1 gives the clean CE gradients; κ = 0 matches finite differences of the worst-case loss', async () => {
  const part = mnistPart(0, 16);
  const model = await Trainable.create(buildArchitecture('cnn', { seed: 2 }), { ibp: true, threads: 1 });
  try {
    const unit = { lower: 0, upper: 1 };
    const clean = await model.trainStep(part.x, 16, part.y, new Rng(1));
    const ibp = await model.ibpStep(part.x, 16, part.y, 0.1, 1, unit);
    assert.ok(Math.abs(clean.loss - ibp.loss) < 1e-6);
    for (const [name, g] of clean.grads) {
      const h = ibp.grads.get(name)!;
      for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i]! - h[i]!) < 1e-6, `${name}[${i}]`);
    }
    const worst = await model.ibpStep(part.x, 16, part.y, 0.05, 0, unit);
    assert.ok(worst.loss > clean.loss + 1, `worst-case loss ${worst.loss} vs clean ${clean.loss}`);
    for (const name of ['conv2.weight', 'fc1.weight', 'fc2.bias']) {
      const w = model.weights.get(name)!;
      const g = worst.grads.get(name)!;
      let k = 0;
      for (let i = 0; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[k]!)) k = i;
      const old = w[k]!;
      const h = 2e-3;
      w[k] = old + h;
      const plus = (await model.ibpStep(part.x, 16, part.y, 0.05, 0, unit)).loss;
      w[k] = old - h;
      const minus = (await model.ibpStep(part.x, 16, part.y, 0.05, 0, unit)).loss;
      w[k] = old;
      const fd = (plus - minus) / (2 * h);
      assert.ok(Math.abs(fd - g[k]!) < 0.02 * Math.abs(g[k]!) + 2e-3, `${name}[${k}]: autodiff ${g[k]}, finite difference ${fd}`);
    }
  } finally {
    await model.dispose();
  }
});

describe('IBP training on MNIST at ε 0.1', () => {
  const data = mnistPart(0, 3000);
  const heldOut = mnistPart(3000, 500);
  const base: TrainOptions = { method: 'standard', eps: 0.1, epochs: 8, batchSize: 128, lr: 1e-3, optimizer: { type: 'adam' }, seed: 1, evalSteps: 1 };
  const x = { data: heldOut.x, shape: [heldOut.n, 1, 28, 28] };

  test('certifies far more held-out images than standard training with the same budget; the exported model certifies the same', async () => {
    const standard = await train(buildArchitecture('mlp', { seed: 1 }), data, heldOut, base);
    const ibp = await train(buildArchitecture('mlp', { seed: 1 }), data, heldOut, { ...base, method: 'ibp', epsRampEpochs: 6 });
    const path = join(work, 'ibp.onnx');
    saveModel(ibp.model, path);
    const certifiedIbp = await certifyIbp(loadModel(path), x, heldOut.y, [0.1]);
    const certifiedStandard = await certifyIbp(standard.model, x, heldOut.y, [0.1]);
    const [cleanIbp, robustIbp] = certifiedIbp.curve.points.map((p) => p.certified_accuracy) as [number, number];
    const [cleanStandard, robustStandard] = certifiedStandard.curve.points.map((p) => p.certified_accuracy) as [number, number];
    // Measured: IBP clean 0.90, certified 0.476; standard clean 0.93, certified 0.
    assert.ok(robustIbp >= 0.35, `IBP-trained certified accuracy ${robustIbp}`);
    assert.ok(robustStandard <= 0.02, `standard certified accuracy ${robustStandard}`);
    assert.ok(robustIbp - robustStandard >= 0.3, `certified: IBP ${robustIbp}, standard ${robustStandard}`);
    assert.ok(cleanIbp >= 0.8 && cleanStandard >= 0.85, `clean: IBP ${cleanIbp}, standard ${cleanStandard}`);
    const last = ibp.history.at(-1)!;
    assert.equal(last.heldout_ibp_accuracy, robustIbp);
    assert.equal(last.kappa, 0.5);
    assert.deepEqual(
      ibp.history.map((r) => r.kappa),
      [0.917, 0.833, 0.75, 0.667, 0.583, 0.5, 0.5, 0.5],
    );
    assert.equal(standard.history.at(-1)!.heldout_ibp_accuracy, undefined);
  });

  test('resume is bit for bit; a different κ_final is a different run', async () => {
    const small = mnistPart(0, 512);
    const held = mnistPart(3000, 64);
    const options = (checkpointPath: string): TrainOptions => ({
      ...base,
      method: 'ibp',
      epochs: 2,
      epsRampEpochs: 2,
      batchSize: 64,
      threads: 1,
      checkpointPath,
    });
    const straightPath = join(work, 'straight.ckpt');
    const resumedPath = join(work, 'resumed.ckpt');
    const straight = await train(buildArchitecture('mlp', { seed: 5 }), small, held, options(straightPath));
    await assert.rejects(
      train(buildArchitecture('mlp', { seed: 5 }), small, held, {
        ...options(resumedPath),
        onEpoch: (r) => {
          if (r.epoch === 1) throw new Error('interrupted after epoch 1');
        },
      }),
      /interrupted after epoch 1/,
    );
    const resumed = await train(buildArchitecture('mlp', { seed: 5 }), small, held, { ...options(resumedPath), resume: true });
    assert.equal(resumed.resumedFromEpoch, 1);
    assert.deepEqual(timingFree(resumed.history), timingFree(straight.history));
    assert.deepEqual(readCheckpoint(resumedPath).tensors, readCheckpoint(straightPath).tensors);
    await assert.rejects(
      train(buildArchitecture('mlp', { seed: 5 }), small, held, { ...options(resumedPath), kappaFinal: 0.3, resume: true }),
      isGibbonError('invalid_checkpoint', /kappa_final: checkpoint 0\.5, now 0\.3/),
    );
  });
});

test('IBP training refuses BatchNorm/Dropout models, L2 and κ outside [0, 1]', async () => {
  const data = mnistPart(0, 64);
  const o: TrainOptions = { method: 'ibp', eps: 0.1, epochs: 1, lr: 1e-3, optimizer: { type: 'adam' }, threads: 1 };
  await assert.rejects(
    train(buildArchitecture('mlp', { seed: 1, dropout: 0.5 }), data, undefined, o),
    isGibbonError('unsupported_op', /without BatchNorm or Dropout.*1 Dropout/),
  );
  await assert.rejects(train(buildArchitecture('resnet', { seed: 1 }), data, undefined, o), isGibbonError('unsupported_op', /BatchNormalization/));
  await assert.rejects(train(buildArchitecture('mlp', { seed: 1 }), data, undefined, { ...o, norm: 'l2' }), isGibbonError('invalid_option', /L∞ boxes/));
  await assert.rejects(
    train(buildArchitecture('mlp', { seed: 1 }), data, undefined, { ...o, kappaFinal: 1.5 }),
    isGibbonError('invalid_option', /^kappaFinal must be a number in \[0, 1\]/),
  );
  await assert.rejects(
    train(buildArchitecture('mlp', { seed: 1 }), data, undefined, { ...o, eps: 0 }),
    isGibbonError('invalid_option', /^eps must be a positive/),
  );
});
