/**
 * Labelled data for training: MNIST or Fashion-MNIST (shipped with the package, split train
 * or test) or a pair of .npy files. Images are float32 (N, C, H, W) (N, H, W gets C = 1); other
 * examples (tabular (N, F), sequences) keep their shape; uint8 pixels are scaled by
 * 1/255, float32/float64 are taken as they are; labels are integers 0…K−1. `splitHeldOut` sets
 * aside a seeded, reproducible part for validation.
 */
import { existsSync, statSync } from 'node:fs';
import { GibbonError } from '../errors.js';
import { Rng } from '../random.js';
import { readNpy } from '../tensor/npy.js';
import type { AnyTensor } from '../tensor/tensor.js';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from './fashion-mnist.js';
import { loadMnist } from './mnist.js';

export interface LabelledData {
  /** Images, n·C·H·W values in C order. */
  x: Float32Array;
  y: Int32Array;
  /** Per-example shape C, H, W. */
  shape: readonly number[];
  n: number;
  numClasses: number;
  classNames?: readonly string[];
  /** Where the data came from: 'mnist:test', 'fashion-mnist:train', or the .npy paths. */
  source: string;
}

export type LabelledDataSpec = { name: 'mnist' | 'fashion-mnist'; split: 'train' | 'test'; limit?: number } | { x: string; y: string; limit?: number };

const DIGITS: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
const NAMED = ['mnist', 'fashion-mnist'];
const SPLITS = ['train', 'test'];

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new GibbonError('invalid_option', `limit must be an integer ≥ 0; got ${limit}`, { option: 'limit' });
  }
}

function readArray(path: string, option: string): AnyTensor {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path} (${option})`, { path, option });
  if (statSync(path).isDirectory()) throw new GibbonError('invalid_npy', `${path} is a directory, not an .npy file (${option})`, { path, option });
  return readNpy(path);
}

function loadNpyPair(spec: { x: string; y: string; limit?: number }): LabelledData {
  const xt = readArray(spec.x, 'x');
  const yt = readArray(spec.y, 'y');
  if (xt.shape.length < 2) {
    throw new GibbonError(
      'invalid_input',
      `${spec.x} has shape [${xt.shape.join(', ')}]; examples must be (N, features), (N, H, W), (N, C, H, W) or of higher rank`,
      {
        path: spec.x,
        option: 'x',
      },
    );
  }
  if (yt.shape.length !== 1 && !(yt.shape.length === 2 && yt.shape[1] === 1)) {
    throw new GibbonError('invalid_input', `${spec.y} has shape [${yt.shape.join(', ')}]; labels must be (N) or (N, 1)`, { path: spec.y, option: 'y' });
  }
  const total = xt.shape[0]!;
  if (yt.shape[0] !== total) {
    throw new GibbonError('invalid_input', `${spec.x} holds ${total} images but ${spec.y} holds ${yt.shape[0]} labels; they must match`, {
      path: spec.y,
      option: 'y',
    });
  }
  const n = Math.min(spec.limit ?? total, total);
  // (N, H, W) are single-channel images; other ranks are taken as they are (tabular features, sequences, CHW images).
  const shape = xt.shape.length === 3 ? [1, ...xt.shape.slice(1)] : xt.shape.slice(1);
  const row = shape.reduce((a, d) => a * d, 1);
  const x = new Float32Array(n * row);
  if (xt.type === 'uint8') {
    const src = xt.data as Uint8Array;
    for (let i = 0; i < x.length; i++) x[i] = src[i]! / 255;
  } else if (xt.type === 'float32' || xt.type === 'float64') {
    const src = xt.data as Float32Array | Float64Array;
    for (let i = 0; i < x.length; i++) {
      const v = src[i]!;
      if (!Number.isFinite(v)) {
        const what = Number.isNaN(v) ? 'NaN' : 'Inf';
        throw new GibbonError('invalid_input', `${spec.x} contains ${what} in image ${Math.floor(i / row)} (flat index ${i}); images must be finite`, {
          path: spec.x,
          option: 'x',
        });
      }
      x[i] = v;
    }
  } else {
    throw new GibbonError('invalid_input', `${spec.x} has dtype ${xt.type}; images must be float32, float64 or uint8 (pixels, scaled by 1/255)`, {
      path: spec.x,
      option: 'x',
    });
  }
  if (yt.type !== 'int64' && yt.type !== 'int32' && yt.type !== 'uint8' && yt.type !== 'int8' && yt.type !== 'float32' && yt.type !== 'float64') {
    throw new GibbonError('invalid_input', `${spec.y} has dtype ${yt.type}; labels must be integers (int64, int32, uint8, int8)`, {
      path: spec.y,
      option: 'y',
    });
  }
  const y = new Int32Array(n);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const v = Number(yt.data[i]!);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new GibbonError('invalid_input', `${spec.y}: label ${i} is ${v}; labels must be class indices, integers ≥ 0`, { path: spec.y, option: 'y' });
    }
    y[i] = v;
    if (v > max) max = v;
  }
  return { x, y, shape, n, numClasses: Math.max(max + 1, 1), source: `${spec.x} + ${spec.y}` };
}

/** 'mnist' | 'fashion-mnist' (split train|test) or an .npy file of examples (N,C,H,W or N,H,W images, N,F features …; float32/uint8 → scaled to [0,1] if uint8) with labels from an .npy of ints. */
export function loadLabelledData(spec: LabelledDataSpec): LabelledData {
  checkLimit(spec.limit);
  if ('x' in spec) return loadNpyPair(spec);
  if (!NAMED.includes(spec.name)) {
    throw new GibbonError('invalid_option', `unknown dataset '${String(spec.name)}'; valid: ${NAMED.join(', ')}, or .npy files x and y`, { option: 'name' });
  }
  if (!SPLITS.includes(spec.split)) {
    throw new GibbonError('invalid_option', `unknown ${spec.name} split '${String(spec.split)}'; valid: ${SPLITS.join(', ')}`, { option: 'split' });
  }
  const loaded = spec.name === 'mnist' ? loadMnist(spec.split, { limit: spec.limit }) : loadFashionMnist(spec.split, { limit: spec.limit });
  const classNames = spec.name === 'mnist' ? DIGITS : FASHION_MNIST_CLASSES;
  return {
    x: loaded.x.data,
    y: loaded.y,
    shape: loaded.x.shape.slice(1),
    n: loaded.y.length,
    numClasses: 10,
    classNames,
    source: `${spec.name}:${spec.split}`,
  };
}

function pick(data: LabelledData, indices: Int32Array, source: string): LabelledData {
  const row = data.shape.reduce((a, d) => a * d, 1);
  const x = new Float32Array(indices.length * row);
  const y = new Int32Array(indices.length);
  indices.forEach((k, i) => {
    x.set(data.x.subarray(k * row, (k + 1) * row), i * row);
    y[i] = data.y[k]!;
  });
  return { ...data, x, y, n: indices.length, source };
}

/** Deterministic split of a dataset into train and held-out parts (the last `heldOut` examples after a seeded permutation). */
export function splitHeldOut(data: LabelledData, heldOut: number, seed: number): { train: LabelledData; heldOut: LabelledData } {
  if (!Number.isInteger(heldOut) || heldOut < 0 || heldOut > data.n) {
    throw new GibbonError('invalid_option', `heldOut must be an integer in [0, ${data.n}] (the examples in ${data.source}); got ${heldOut}`, {
      option: 'heldOut',
    });
  }
  const order = new Rng(seed).permutation(data.n);
  const cut = data.n - heldOut;
  return {
    train: pick(data, order.subarray(0, cut), `${data.source} (train part, seed ${seed})`),
    heldOut: pick(data, order.subarray(cut), `${data.source} (held out ${heldOut}, seed ${seed})`),
  };
}
