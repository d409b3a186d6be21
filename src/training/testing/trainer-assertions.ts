/** Assertions shared by the trainer's tests. */
import assert from 'node:assert/strict';
import { GibbonError } from '../../errors.js';
import type { EpochRecord } from '../trainer.js';

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
