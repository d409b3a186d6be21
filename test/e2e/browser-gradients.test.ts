/**
 * Gradients computed in the browser (onnxruntime-web in the playground's worker) agree with the
 * PyTorch reference data and with Node's (onnxruntime-node), on the three reference models, with
 * the tolerances of test/reference.test.ts: logits within 1e-4, input gradients of CE / margin /
 * DLR within 1e-4·max|ref| + 1e-3·|ref| per entry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxModel } from '../../src/model/onnx-model.js';
import { readNpy, toFloat32 } from '../../src/tensor/npy.js';
import { ROOT } from '../helpers/cli.js';
import { inputGradInPage, loadModelInPage, startPlayground, type Playground, type PlaygroundVisit } from '../helpers/playground.js';
import { worstRatio } from '../helpers/tolerance.js';

const REFERENCE = join(ROOT, 'test', 'fixtures', 'reference');
const N = 256;
const xAll = readNpy(join(REFERENCE, 'inputs', 'x.npy'));
const x = { data: toFloat32(xAll).slice(0, N * 784), shape: [N, 1, 28, 28] };
const y = Int32Array.from(readNpy(join(REFERENCE, 'inputs', 'y.npy')).data as BigInt64Array, Number).slice(0, N);
const reference = (name: string, file: string): Float32Array =>
  toFloat32(readNpy(join(REFERENCE, name, file))).slice(0, (file === 'logits.npy' ? 10 : 784) * N);

let playground: Playground | undefined;
let visit: PlaygroundVisit;

before(async () => {
  playground = await startPlayground();
  visit = await playground.open();
  await visit.ready();
});

after(async () => playground?.close());

for (const name of ['mnist_mlp', 'mnist_cnn', 'ops_zoo']) {
  describe(`in the browser: reference ${name}`, () => {
    let node: OnnxModel;
    before(async () => {
      const file = join(REFERENCE, name, `${name}.onnx`);
      node = await OnnxModel.load(file, { threads: 1 });
      await loadModelInPage(visit.page, new Uint8Array(readFileSync(file)), `${name}.onnx`);
    });
    after(async () => node.dispose());

    for (const loss of ['ce', 'margin', 'dlr'] as const) {
      test(`input gradient of summed ${loss} and the logits agree with PyTorch and with Node`, async (t) => {
        const { grad, logits } = await inputGradInPage(visit.page, x, y, loss);
        const ref = reference(name, `grad_${loss}.npy`);
        const vsTorch = worstRatio(grad, ref, 1e-4, 1e-3);
        assert.ok(vsTorch <= 1, `browser vs PyTorch: worst error ${vsTorch.toFixed(3)}× the tolerance`);
        const nodeResult = await node.lossAndGrad(x, y, loss);
        const vsNode = worstRatio(grad, nodeResult.grad.data, 1e-4, 1e-3);
        assert.ok(vsNode <= 1, `browser vs Node: worst error ${vsNode.toFixed(3)}× the tolerance`);
        const refLogits = reference(name, 'logits.npy');
        const worstLogit = logits.reduce((m, v, i) => Math.max(m, Math.abs(v - refLogits[i]!)), 0);
        assert.ok(worstLogit <= 1e-4, `max |logits − ref| = ${worstLogit}`);
        t.diagnostic(
          `worst error / tolerance: vs PyTorch ${vsTorch.toFixed(3)}, vs Node ${vsNode.toFixed(3)}; max |logits − ref| ${worstLogit.toExponential(1)}`,
        );
      });
    }
  });
}

test('no console error or failed request while computing gradients in the page', () => {
  assert.deepEqual(visit.problems, []);
});
