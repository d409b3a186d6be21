/** The PyTorch reference inputs and models (test/fixtures/reference) for attack tests. */
import { after, before } from 'node:test';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxModel } from '../../model/onnx-model.js';
import { readNpy, toFloat32 } from '../../tensor/npy.js';
import type { Tensor } from '../../tensor/tensor.js';

/** test/fixtures/reference, found from dist/src/attacks/testing or src/attacks/testing. */
export const REFERENCE_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  ...(import.meta.url.includes('/dist/') ? ['..'] : []),
  'test',
  'fixtures',
  'reference',
);

export function referenceModelPath(name: 'mnist_mlp' | 'mnist_cnn' | 'ops_zoo'): string {
  return join(REFERENCE_DIR, name, `${name}.onnx`);
}

/** The first n of the 256 reference MNIST test images (N, 1, 28, 28) in [0, 1] and their labels. */
export function referenceInputs(n = 256): { x: Tensor; y: Int32Array } {
  const xt = readNpy(join(REFERENCE_DIR, 'inputs', 'x.npy'));
  const yt = readNpy(join(REFERENCE_DIR, 'inputs', 'y.npy'));
  const data = toFloat32(xt);
  const row = data.length / xt.shape[0]!;
  return {
    x: { data: data.slice(0, n * row), shape: [n, ...xt.shape.slice(1)] },
    y: Int32Array.from(yt.data as BigInt64Array, Number).slice(0, n),
  };
}

/** A reference model loaded before a test file's tests and disposed after them; read `.model` inside a test. */
export function loadedReferenceModel(name: 'mnist_mlp' | 'mnist_cnn' = 'mnist_mlp'): { readonly model: OnnxModel } {
  let model: OnnxModel | undefined;
  before(async () => {
    model = await OnnxModel.load(referenceModelPath(name), { threads: 2 });
  });
  after(async () => model?.dispose());
  return {
    get model(): OnnxModel {
      if (!model) throw new Error(`the reference model ${name} is used before the tests load it`);
      return model;
    },
  };
}
