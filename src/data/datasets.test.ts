/**
 * Training data: Fashion-MNIST from the fashion-mnist package (split sizes, balanced interleaved
 * labels, class names, disjoint splits), MNIST through the same interface, .npy pairs (round trip
 * through writeNpy, uint8 scaling, every error named), and the seeded held-out split.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GibbonError, type ErrorCode } from '../errors.js';
import { writeNpy } from '../tensor/npy.js';
import { loadLabelledData, splitHeldOut, type LabelledData } from './datasets.js';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from './fashion-mnist.js';
import { withTempDir } from '../../test/helpers/temp-dir.js';

function assertError(fn: () => unknown, code: ErrorCode, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GibbonError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

const imageKey = (x: Float32Array, i: number): string => x.subarray(i * 784, (i + 1) * 784).join(',');

describe('Fashion-MNIST', () => {
  test('the test split: 10 000 images 28×28, labels 0–9 with 1000 each, pixels k/255 spanning [0, 1], class names', () => {
    const data = loadLabelledData({ name: 'fashion-mnist', split: 'test' });
    assert.equal(data.n, 10000);
    assert.deepEqual(data.shape, [1, 28, 28]);
    assert.equal(data.x.length, 10000 * 784);
    assert.equal(data.numClasses, 10);
    assert.equal(data.source, 'fashion-mnist:test');
    assert.deepEqual(data.classNames, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    const perClass = new Array<number>(10).fill(0);
    for (const v of data.y) perClass[v]!++;
    assert.deepEqual(perClass, new Array(10).fill(1000));
    // Classes are interleaved: any prefix is balanced.
    assert.deepEqual([...data.y.subarray(0, 20)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of data.x) {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
    // Fashion-MNIST's mean pixel is about 0.286 (MNIST's 0.13): the right data set, not all zeros.
    assert.ok(Math.abs(sum / data.x.length - 0.286) < 0.005, `mean pixel ${sum / data.x.length}`);
    for (let i = 0; i < 5000; i++) assert.equal(data.x[i], Math.fround(Math.round(data.x[i]! * 255) / 255));
    // No image in the test split is blank (the package's empty placeholder entries are skipped).
    for (let i = 0; i < data.n; i++)
      assert.ok(
        data.x.subarray(i * 784, (i + 1) * 784).some((v) => v > 0),
        `image ${i} is not blank`,
      );
  });

  test('split sizes, offset and limit', () => {
    assert.equal(loadFashionMnist('train', { limit: 1 }).total, 60000);
    assert.equal(loadFashionMnist('test', { limit: 0 }).total, 10000);
    const all = loadFashionMnist('test', { limit: 40 });
    const part = loadFashionMnist('test', { offset: 13, limit: 17 });
    assert.deepEqual(part.x.shape, [17, 1, 28, 28]);
    assert.deepEqual([...part.y], [...all.y.subarray(13, 30)]);
    assert.deepEqual([...part.x.data], [...all.x.data.subarray(13 * 784, 30 * 784)]);
    const tail = loadFashionMnist('test', { offset: 9995, limit: 10 });
    assert.deepEqual([...tail.y], [5, 6, 7, 8, 9]);
    assert.equal(loadFashionMnist('test', { offset: 10000 }).y.length, 0);
    assert.equal(FASHION_MNIST_CLASSES[tail.y[4]!], 'Ankle boot');
  });

  test('train and test splits share no image', () => {
    const test = loadFashionMnist('test');
    const seen = new Set<string>();
    for (let i = 0; i < 10000; i++) seen.add(imageKey(test.x.data, i));
    const train = loadFashionMnist('train', { limit: 200 });
    assert.equal(train.y.length, 200);
    for (let i = 0; i < 200; i++) assert.ok(!seen.has(imageKey(train.x.data, i)), `train image ${i} is not in the test split`);
  });

  test('bad options and bad files are named', () => {
    assertError(() => loadFashionMnist('test', { offset: 10001 }), 'invalid_option', /offset 10001 is outside .*10000 examples/);
    assertError(() => loadFashionMnist('test', { limit: 2.5 }), 'invalid_option', /limit must be an integer ≥ 0; got 2.5/);
    assertError(() => loadFashionMnist('valid' as 'test'), 'invalid_option', /unknown Fashion-MNIST split 'valid'; valid: train, test/);
    withTempDir('datasets', (dir) => {
      assertError(() => loadFashionMnist('test', { dir, limit: 1 }), 'file_not_found', /file not found: .*0\.json/);
      const row = (v: number): string => `[${new Array(784).fill(v).join(',')}]`;
      const write = (text: string): void => writeFileSync(join(dir, '0.json'), text);
      write(`{"data":[${row(1)},${row(2)}]}`);
      assertError(() => loadFashionMnist('test', { dir, limit: 100 }), 'invalid_input', /0\.json: only 2 images found, but the split needs images 0…9/);
      write(`{"data":[${row(1)},[1,2,3]]}`);
      assertError(() => loadFashionMnist('test', { dir, limit: 100 }), 'invalid_input', /image 1 has 3 values, not 784/);
      write(`{"data":[[0.5${',0'.repeat(783)}]]}`);
      assertError(() => loadFashionMnist('test', { dir, limit: 1 }), 'invalid_input', /image 0 holds '\.', not an integer pixel value/);
      write(`{"data":[[256${',0'.repeat(783)}]]}`);
      assertError(() => loadFashionMnist('test', { dir, limit: 1 }), 'invalid_input', /image 0 has a pixel value above 255/);
      write('{"data": 42}');
      assertError(() => loadFashionMnist('test', { dir, limit: 1 }), 'invalid_input', /no image array found/);
    });
  });

  test('placeholder empty entries are skipped and whitespace is allowed', () => {
    withTempDir('datasets', (dir) => {
      for (let c = 0; c < 10; c++) {
        const rows = Array.from({ length: 1000 }, (_, k) => `[ ${new Array(784).fill((c * 7 + k) % 256).join(', ')} ]`);
        writeFileSync(join(dir, `${c}.json`), `{ "data": [ [], ${rows.join(',\n')}, [] ] }`);
      }
      const { x, y } = loadFashionMnist('test', { dir, offset: 10, limit: 20 });
      assert.deepEqual([...y], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // Example 10 + i is image 1 (or 2) of class i mod 10: pixel (7c + k) / 255.
      for (let i = 0; i < 20; i++) assert.equal(x.data[i * 784 + 500], Math.fround(((i % 10) * 7 + 1 + Math.floor(i / 10)) / 255));
    });
  });
});

describe('loadLabelledData', () => {
  test('MNIST test split through the same interface', () => {
    const data = loadLabelledData({ name: 'mnist', split: 'test', limit: 5 });
    assert.equal(data.n, 5);
    assert.deepEqual(data.shape, [1, 28, 28]);
    assert.equal(data.y[0], 7);
    assert.equal(data.classNames?.[7], '7');
    assert.equal(data.source, 'mnist:test');
  });

  test('unknown names, splits and limits are named', () => {
    assertError(
      () => loadLabelledData({ name: 'cifar10' as 'mnist', split: 'test' }),
      'invalid_option',
      /unknown dataset 'cifar10'; valid: mnist, fashion-mnist/,
    );
    assertError(() => loadLabelledData({ name: 'mnist', split: 'val' as 'test' }), 'invalid_option', /unknown mnist split 'val'; valid: train, test/);
    assertError(() => loadLabelledData({ name: 'mnist', split: 'test', limit: -3 }), 'invalid_option', /limit must be an integer ≥ 0; got -3/);
  });

  test('.npy round trip: float32 (N, C, H, W) as it is, uint8 (N, H, W) scaled by 1/255, int64 labels; limit', () => {
    withTempDir('datasets', (dir) => {
      const xf = Float32Array.from({ length: 4 * 3 * 2 * 2 }, (_, i) => i / 7 - 1);
      writeNpy(join(dir, 'x.npy'), { type: 'float32', data: xf, shape: [4, 3, 2, 2] });
      writeNpy(join(dir, 'y.npy'), { type: 'int64', data: BigInt64Array.of(2n, 0n, 5n, 1n), shape: [4] });
      const data = loadLabelledData({ x: join(dir, 'x.npy'), y: join(dir, 'y.npy') });
      assert.deepEqual(data.shape, [3, 2, 2]);
      assert.equal(data.n, 4);
      assert.deepEqual([...data.x], [...xf]);
      assert.deepEqual([...data.y], [2, 0, 5, 1]);
      assert.equal(data.numClasses, 6);
      assert.equal(data.classNames, undefined);
      assert.match(data.source, /x\.npy \+ .*y\.npy/);

      const xu = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 37) % 256);
      writeNpy(join(dir, 'xu.npy'), { type: 'uint8', data: xu, shape: [3, 4, 5] });
      writeNpy(join(dir, 'yu.npy'), { type: 'int32', data: Int32Array.of(1, 1, 0), shape: [3, 1] });
      const pixels = loadLabelledData({ x: join(dir, 'xu.npy'), y: join(dir, 'yu.npy'), limit: 2 });
      assert.deepEqual(pixels.shape, [1, 4, 5]);
      assert.equal(pixels.n, 2);
      assert.deepEqual(
        [...pixels.x],
        Array.from(xu.subarray(0, 40), (v) => Math.fround(v / 255)),
      );
      assert.deepEqual([...pixels.y], [1, 1]);
    });
  });

  test('.npy errors name the file and the problem', () => {
    withTempDir('datasets', (dir) => {
      const p = (name: string): string => join(dir, name);
      writeNpy(p('x.npy'), { type: 'float32', data: new Float32Array(3 * 4), shape: [3, 2, 2] });
      writeNpy(p('y.npy'), { type: 'int64', data: BigInt64Array.of(0n, 1n, 2n), shape: [3] });
      assertError(() => loadLabelledData({ x: p('missing.npy'), y: p('y.npy') }), 'file_not_found', /file not found: .*missing\.npy \(x\)/);
      assertError(() => loadLabelledData({ x: p('x.npy'), y: p('nolabels.npy') }), 'file_not_found', /file not found: .*nolabels\.npy \(y\)/);

      writeNpy(p('y2.npy'), { type: 'int64', data: BigInt64Array.of(0n, 1n), shape: [2] });
      assertError(() => loadLabelledData({ x: p('x.npy'), y: p('y2.npy') }), 'invalid_input', /x\.npy holds 3 images but .*y2\.npy holds 2 labels/);

      writeNpy(p('yneg.npy'), { type: 'int32', data: Int32Array.of(0, -1, 2), shape: [3] });
      assertError(
        () => loadLabelledData({ x: p('x.npy'), y: p('yneg.npy') }),
        'invalid_input',
        /yneg\.npy: label 1 is -1; labels must be class indices, integers ≥ 0/,
      );

      writeNpy(p('yfrac.npy'), { type: 'float64', data: Float64Array.of(0, 1, 2.5), shape: [3] });
      assertError(
        () => loadLabelledData({ x: p('x.npy'), y: p('yfrac.npy') }),
        'invalid_input',
        /yfrac\.npy: label 2 is 2\.5; labels must be class indices, integers/,
      );
      writeNpy(p('ywhole.npy'), { type: 'float64', data: Float64Array.of(0, 1, 2), shape: [3] });
      assert.deepEqual([...loadLabelledData({ x: p('x.npy'), y: p('ywhole.npy') }).y], [0, 1, 2]);

      writeNpy(p('xint.npy'), { type: 'int32', data: new Int32Array(12), shape: [3, 2, 2] });
      assertError(
        () => loadLabelledData({ x: p('xint.npy'), y: p('y.npy') }),
        'invalid_input',
        /xint\.npy has dtype int32; images must be float32, float64 or uint8/,
      );
      writeNpy(p('ybool.npy'), { type: 'bool', data: Uint8Array.of(0, 1, 1), shape: [3] });
      assertError(() => loadLabelledData({ x: p('x.npy'), y: p('ybool.npy') }), 'invalid_input', /ybool\.npy has dtype bool; labels must be integers/);

      const withNan = new Float32Array(12);
      withNan[9] = Number.NaN;
      writeNpy(p('xnan.npy'), { type: 'float32', data: withNan, shape: [3, 2, 2] });
      assertError(() => loadLabelledData({ x: p('xnan.npy'), y: p('y.npy') }), 'invalid_input', /xnan\.npy contains NaN in image 2 \(flat index 9\)/);

      writeNpy(p('xflat.npy'), { type: 'float32', data: new Float32Array(3), shape: [3] });
      assertError(
        () => loadLabelledData({ x: p('xflat.npy'), y: p('y.npy') }),
        'invalid_input',
        /xflat\.npy has shape \[3\]; examples must be \(N, features\)/,
      );
      writeNpy(p('xtab.npy'), { type: 'float32', data: new Float32Array(12), shape: [3, 4] });
      assert.deepEqual(loadLabelledData({ x: p('xtab.npy'), y: p('y.npy') }).shape, [4]);
      writeNpy(p('y2d.npy'), { type: 'int64', data: new BigInt64Array(6), shape: [3, 2] });
      assertError(() => loadLabelledData({ x: p('x.npy'), y: p('y2d.npy') }), 'invalid_input', /y2d\.npy has shape \[3, 2\]; labels must be \(N\) or \(N, 1\)/);
      writeFileSync(p('notnpy.npy'), 'hello');
      assertError(() => loadLabelledData({ x: p('notnpy.npy'), y: p('y.npy') }), 'invalid_npy', /notnpy\.npy is not a \.npy file/);
    });
  });
});

describe('splitHeldOut', () => {
  const data: LabelledData = {
    x: Float32Array.from({ length: 50 * 2 }, (_, i) => Math.floor(i / 2)),
    y: Int32Array.from({ length: 50 }, (_, i) => i % 5),
    shape: [2, 1, 1],
    n: 50,
    numClasses: 5,
    source: 'toy',
  };

  test('sizes, disjoint parts that cover the data, images moving with their labels', () => {
    const { train, heldOut } = splitHeldOut(data, 12, 3);
    assert.equal(train.n, 38);
    assert.equal(heldOut.n, 12);
    assert.equal(train.x.length, 38 * 2);
    const ids = (d: LabelledData): number[] => Array.from({ length: d.n }, (_, i) => d.x[2 * i]!);
    const all = [...ids(train), ...ids(heldOut)].sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: 50 }, (_, i) => i),
    );
    for (const part of [train, heldOut]) {
      for (let i = 0; i < part.n; i++) {
        assert.equal(part.x[2 * i + 1], part.x[2 * i]);
        assert.equal(part.y[i], part.x[2 * i]! % 5);
      }
      assert.deepEqual(part.shape, [2, 1, 1]);
      assert.equal(part.numClasses, 5);
    }
    assert.match(heldOut.source, /toy \(held out 12, seed 3\)/);
  });

  test('the same seed gives the same split, another seed another', () => {
    const a = splitHeldOut(data, 10, 1).heldOut;
    const b = splitHeldOut(data, 10, 1).heldOut;
    const c = splitHeldOut(data, 10, 2).heldOut;
    assert.deepEqual([...a.x], [...b.x]);
    assert.notDeepEqual([...a.x], [...c.x]);
  });

  test('edge sizes and bad arguments', () => {
    assert.equal(splitHeldOut(data, 0, 1).heldOut.n, 0);
    assert.equal(splitHeldOut(data, 50, 1).train.n, 0);
    assertError(() => splitHeldOut(data, 51, 1), 'invalid_option', /heldOut must be an integer in \[0, 50\] \(the examples in toy\); got 51/);
    assertError(() => splitHeldOut(data, 1.5, 1), 'invalid_option', /heldOut must be an integer/);
    assertError(() => splitHeldOut(data, 5, -1), 'invalid_option', /seed must be an integer/);
  });
});
