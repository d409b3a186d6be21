/**
 * Agreement with the PyTorch reference data (test/fixtures/reference, copied from
 * shared/reference; tolerances from its manifest's tolerance_advice, ~10–30× the observed
 * float32 noise): logits, input gradients of CE / margin / DLR, parameter gradients of the mean
 * CE over 64 images, and FGSM images, for mnist_mlp, mnist_cnn and ops_zoo.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxModel } from '../src/model/onnx-model.js';
import { readNpy, toFloat32 } from '../src/tensor/npy.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { FgsmAttack } from '../src/attacks/fgsm.js';
import { misclassification } from '../src/criteria/misclassification.js';
import { gradientOracle } from '../src/model/oracles.js';
import { linf } from '../src/norms/linf.js';
import { Rng } from '../src/random.js';
import { worstRatio } from './helpers/tolerance.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'reference');

function load(path: string): Tensor {
  const t = readNpy(join(ROOT, path));
  return { data: toFloat32(t), shape: t.shape };
}

const x = load('inputs/x.npy');
const yT = readNpy(join(ROOT, 'inputs/y.npy'));
const y = Int32Array.from(yT.data as BigInt64Array, Number);

for (const name of ['mnist_mlp', 'mnist_cnn', 'ops_zoo']) {
  describe(`reference ${name}`, () => {
    let model: OnnxModel;
    before(async () => {
      model = await OnnxModel.load(join(ROOT, name, `${name}.onnx`), { threads: 2 });
    });
    after(async () => model.dispose());

    test('logits within 1e-4', async () => {
      const z = await model.logits(x);
      const ref = load(`${name}/logits.npy`).data;
      let max = 0;
      for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(z.data[i]! - ref[i]!));
      assert.ok(max <= 1e-4, `max |logits − ref| = ${max}`);
    });

    for (const loss of ['ce', 'margin', 'dlr'] as const) {
      test(`input gradient of summed ${loss}`, async () => {
        const r = await model.lossAndGrad(x, y, loss);
        const ratio = worstRatio(r.grad.data, load(`${name}/grad_${loss}.npy`).data, 1e-4, 1e-3);
        assert.ok(ratio <= 1, `worst error is ${ratio.toFixed(3)}× the tolerance`);
      });
    }

    test('parameter gradients of mean CE over 64 images', async () => {
      const x64: Tensor = { data: x.data.subarray(0, 64 * 784), shape: [64, 1, 28, 28] };
      const r = await model.paramGrads(x64, y.subarray(0, 64), 'ce', 'mean');
      const dir = join(ROOT, name, 'param_grads');
      const files = readdirSync(dir).filter((f) => f.endsWith('.npy'));
      assert.ok(files.length > 0);
      for (const f of files) {
        const param = f.slice(0, -4);
        const g = r.grads.get(param);
        assert.ok(g, `no gradient for ${param}; got ${[...r.grads.keys()].join(', ')}`);
        const ref = load(join(name, 'param_grads', f));
        assert.deepEqual([...g.shape], [...ref.shape], `${param} shape`);
        const ratio = worstRatio(g.data, ref.data, 1e-4, 1e-3);
        assert.ok(ratio <= 1, `${param}: worst error is ${ratio.toFixed(3)}× the tolerance`);
      }
      // Only trainable parameters: BatchNorm running statistics get no gradient.
      for (const k of r.grads.keys()) assert.ok(files.includes(`${k}.npy`), `unexpected trainable ${k}`);
    });

    test('FGSM ε=0.1 images: ≥ 99% of pixels within 1e-6', async () => {
      // The attack itself, not the harness: the reference perturbs every image, misclassified or not.
      const { adversarial: adv } = await new FgsmAttack().run(gradientOracle(model), x, misclassification(y), { eps: 0.1, norm: linf, rng: new Rng(0) });
      const ref = load(`${name}/fgsm_eps0.1.npy`).data;
      let same = 0;
      for (let i = 0; i < ref.length; i++) if (Math.abs(adv.data[i]! - ref[i]!) <= 1e-6) same++;
      assert.ok(same / ref.length >= 0.99, `only ${((100 * same) / ref.length).toFixed(3)}% of pixels agree`);
    });
  });
}

test('fixtures are present', () => {
  assert.ok(existsSync(join(ROOT, 'inputs', 'x.npy')));
});
