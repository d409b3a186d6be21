/**
 * .npy reading and writing: numpy-written files (test/fixtures/npy, made by make_npy_fixtures.py)
 * parse to the right values in C order; every supported dtype round-trips; headers are padded so
 * the data starts on a 64-byte boundary; everything else is refused with a message naming it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GibbonError } from '../errors.js';
import { formatNpy, parseNpy, readNpy, toFloat32, writeNpy } from './npy.js';
import type { AnyTensor, ElementType } from './tensor.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'npy');

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

/** Header length as stored in a version-1 file. */
function headerBytes(bytes: Uint8Array): number {
  return 10 + new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
}

function assertNpyError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GibbonError, `expected a GibbonError, got ${String(e)}`);
    assert.equal(e.code, 'invalid_npy');
    assert.match(e.message, pattern);
    return true;
  });
}

describe('numpy-written files', () => {
  const expected: Record<string, number[]> = {
    float32: [-1.5, -0.5, 0.5, 1.5, 2.5, 3.5],
    float64: [-1.5, -0.5, 0.5, 1.5, 2.5, 3.5],
    int64: [0, 1, 2, 3, 4, 5],
    int32: [0, 1, 2, 3, 4, 5],
    uint8: [0, 1, 2, 3, 4, 5],
    int8: [-3, -2, -1, 0, 1, 2],
    bool: [1, 0, 1, 0, 0, 1],
  };
  for (const [type, values] of Object.entries(expected)) {
    test(`${type}: dtype, shape and values in C order`, () => {
      const t = parseNpy(fixture(`${type}.npy`), `${type}.npy`);
      assert.equal(t.type, type);
      assert.deepEqual([...t.shape], [2, 3]);
      assert.deepEqual(Array.from(t.data as ArrayLike<number | bigint>, Number), values);
    });
  }

  test('a 0-d array has shape [] and one value', () => {
    const t = parseNpy(fixture('scalar-float32.npy'));
    assert.deepEqual([...t.shape], []);
    assert.deepEqual([...(t.data as Float32Array)], [2.5]);
  });

  test('an empty array has no data', () => {
    const t = parseNpy(fixture('empty-float32.npy'));
    assert.deepEqual([...t.shape], [0, 3]);
    assert.equal(t.data.length, 0);
  });

  test('format version 2.0 (4-byte header length) is read', () => {
    const t = parseNpy(fixture('v2-float32.npy'));
    assert.deepEqual([...t.shape], [2, 3]);
    assert.deepEqual([...(t.data as Float32Array)], [0, 1, 2, 3, 4, 5]);
  });
});

describe('round trip through formatNpy', () => {
  const cases: [ElementType, AnyTensor['data']][] = [
    ['float32', Float32Array.of(-1.5, 0, 3.25, 1e-30, -7, 2 ** 20)],
    ['float64', Float64Array.of(-1.5, 0, Math.PI, 1e-300, -7, 2 ** 60)],
    ['int64', BigInt64Array.of(-(2n ** 62n), -1n, 0n, 1n, 2n ** 40n, 7n)],
    ['int32', Int32Array.of(-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 7)],
    ['uint8', Uint8Array.of(0, 1, 127, 128, 254, 255)],
    ['int8', Int8Array.of(-128, -1, 0, 1, 126, 127)],
    ['bool', Uint8Array.of(1, 0, 0, 1, 1, 0)],
  ];
  for (const [type, data] of cases) {
    for (const shape of [[6], [2, 3], [1, 2, 1, 3]]) {
      test(`${type} shape [${shape.join(', ')}]`, () => {
        const bytes = formatNpy({ type, data, shape });
        const back = parseNpy(bytes);
        assert.equal(back.type, type);
        assert.deepEqual([...back.shape], shape);
        assert.deepEqual(Array.from(back.data as ArrayLike<number | bigint>), Array.from(data as ArrayLike<number | bigint>));
        assert.equal(headerBytes(bytes) % 64, 0, 'data must start on a 64-byte boundary');
      });
    }
  }

  test('headers of many shapes are padded to a multiple of 64 bytes and end in a newline', () => {
    const lengths = new Set<number>();
    for (let rank = 1; rank <= 8; rank++) {
      for (const d of [1, 12, 345, 6789, 10000, 100000]) {
        const shape = Array.from({ length: rank }, (_, i) => (i === 0 ? d : 1));
        const bytes = formatNpy({ type: 'uint8', data: new Uint8Array(d), shape });
        const len = headerBytes(bytes);
        lengths.add(10 + new TextDecoder().decode(bytes.subarray(10, len)).trimEnd().length);
        assert.equal(len % 64, 0, `shape [${shape.join(', ')}]: header of ${len} bytes`);
        assert.equal(bytes[len - 1], 0x0a);
      }
    }
    assert.ok(lengths.size > 20, 'the shapes should give many different unpadded header lengths');
  });

  test('data that does not fill the shape is refused', () => {
    assert.throws(() => formatNpy({ type: 'float32', data: new Float32Array(5), shape: [2, 3] }), /5 values do not fill shape \[2, 3\]/);
  });

  test("1-d shapes keep numpy's trailing comma, and numpy-style headers parse", () => {
    const bytes = formatNpy({ type: 'int32', data: Int32Array.of(4, 5, 6), shape: [3] });
    const header = new TextDecoder().decode(bytes.subarray(10, headerBytes(bytes)));
    assert.match(header, /'shape': \(3,\)/);
    assert.match(header, /'fortran_order': False/);
  });

  test('typed-array views with an offset write only their own bytes', () => {
    const big = Float32Array.of(9, 9, 1, 2, 3, 9);
    const back = parseNpy(formatNpy({ type: 'float32', data: big.subarray(2, 5), shape: [3] }));
    assert.deepEqual([...(back.data as Float32Array)], [1, 2, 3]);
  });

  test('writeNpy and readNpy on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbon-npy-'));
    try {
      const path = join(dir, 'x.npy');
      writeNpy(path, { type: 'float64', data: Float64Array.of(1, 2, 3, 4), shape: [2, 2] });
      const t = readNpy(path);
      assert.deepEqual([...t.shape], [2, 2]);
      assert.deepEqual([...toFloat32(t)], [1, 2, 3, 4]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('clear errors', () => {
  test('Fortran order', () => {
    assertNpyError(() => parseNpy(fixture('fortran-float32.npy'), 'f.npy'), /f\.npy is in Fortran order/);
  });

  test("big-endian '>f4'", () => {
    assertNpyError(() => parseNpy(fixture('big-endian-float32.npy'), 'be.npy'), /be\.npy has dtype '>f4'.*little-endian/);
  });

  test("unsupported dtype '<f2'", () => {
    assertNpyError(() => parseNpy(fixture('float16.npy'), 'h.npy'), /h\.npy has dtype '<f2'; supported: float32, float64, int64, int32, uint8/);
  });

  test('truncated data', () => {
    const bytes = fixture('float64.npy');
    assertNpyError(() => parseNpy(bytes.subarray(0, bytes.length - 5), 't.npy'), /t\.npy is truncated: shape \(2, 3\) needs 48 bytes of data, found 43/);
  });

  test('truncated header', () => {
    assertNpyError(() => parseNpy(fixture('float32.npy').subarray(0, 40), 'h.npy'), /h\.npy is truncated: its \.npy header declares/);
  });

  test('bad magic', () => {
    assertNpyError(() => parseNpy(new TextEncoder().encode('this is not an npy file at all'), 'x.txt'), /x\.txt is not a \.npy file \(bad magic bytes\)/);
    assertNpyError(() => parseNpy(new Uint8Array(3), 'tiny'), /bad magic/);
  });

  test('unknown format version', () => {
    const bytes = fixture('float32.npy').slice();
    bytes[6] = 9;
    assertNpyError(() => parseNpy(bytes, 'v9.npy'), /unsupported \.npy format version 9/);
  });

  test('missing file', () => {
    assert.throws(
      () => readNpy('/nonexistent/gibbon/x.npy'),
      (e: unknown) => e instanceof GibbonError && e.code === 'file_not_found' && /\/nonexistent\/gibbon\/x\.npy/.test(e.message),
    );
  });

  test('unwritable path', () => {
    assert.throws(
      () => writeNpy('/nonexistent/gibbon/x.npy', { type: 'float32', data: new Float32Array(1), shape: [1] }),
      (e: unknown) => e instanceof GibbonError && e.code === 'file_unwritable',
    );
  });

  test('writing a type .npy cannot hold', () => {
    assertNpyError(() => formatNpy({ type: 'float16', data: new Uint16Array(1), shape: [1] }), /cannot write float16/);
  });
});
