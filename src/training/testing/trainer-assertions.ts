/** Assertions and data shared by the trainer's tests. */
import assert from 'node:assert/strict';
import { loadLabelledData } from '../../data/datasets.js';
import { GibbonError } from '../../errors.js';
import type { Dataset, EpochRecord } from '../trainer.js';

/** The first `limit` MNIST training images, and slices of them as training data sets. */
export function mnistParts(limit: number): (start: number, n: number) => Dataset {
  const mnist = loadLabelledData({ name: 'mnist', split: 'train', limit });
  const per = 28 * 28;
  return (start, n) => ({
    x: mnist.x.slice(start * per, (start + n) * per),
    y: mnist.y.slice(start, start + n),
    n,
    shape: [1, 28, 28],
    source: `mnist:train[${start}:${start + n}]`,
  });
}

/** The per-epoch records without their timings, for comparing two runs (resume is bit-identical). */
export const timingFree = (h: readonly EpochRecord[]) => h.map(({ seconds: _s, images_per_s: _i, ...rest }) => rest);

/** For assert.rejects/throws: a GibbonError with this code whose message matches. */
export const isGibbonError =
  (code: string, pattern: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof GibbonError, `expected a GibbonError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  };
