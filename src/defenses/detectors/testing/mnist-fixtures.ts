/** Shared by this folder's tests: the bundled MNIST model and small clean data sets. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLabelledData, splitHeldOut } from '../../../data/datasets.js';
import type { Tensor } from '../../../tensor/tensor.js';
import type { FitData } from '../fit.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));
export const STANDARD_MODEL = join(ROOT, 'models', 'mnist-standard.onnx');
export const ROBUST_MODEL = join(ROOT, 'models', 'mnist-robust.onnx');

/** Fit and calibration sets from the first `total` MNIST training images (seeded split). */
export function smallFitData(total: number, calibration: number, seed = 0): FitData {
  const all = loadLabelledData({ name: 'mnist', split: 'train', limit: total });
  const { train, heldOut } = splitHeldOut(all, calibration, seed);
  return {
    fit: { x: { data: train.x, shape: [train.n, ...train.shape] }, y: train.y },
    calibration: { x: { data: heldOut.x, shape: [heldOut.n, ...heldOut.shape] } },
    description: `mnist:train (first ${total}, seed ${seed})`,
    seed,
  };
}

export function testImages(name: 'mnist' | 'fashion-mnist', n: number): { x: Tensor; y: Int32Array } {
  const d = loadLabelledData({ name, split: 'test', limit: n });
  return { x: { data: d.x, shape: [d.n, ...d.shape] }, y: d.y };
}
