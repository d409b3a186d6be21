/**
 * The digit lines of the CTC patch measurement (test/fixtures/physical/ctc_*, made by
 * tools/physical/make_ctc_patch_lines.py with the renderer of the CTC recogniser's fixture): a
 * training set and a held-out set of rendered lines (uint8 .npy, ÷ 255) and their strings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, toFloat32 } from '../../src/tensor/npy.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { CTC_FIXTURES } from './ctc-fixture.js';

const DIR = join(CTC_FIXTURES, '..', 'physical');

export interface CtcPatchLines {
  readonly train: Tensor;
  readonly heldOut: Tensor;
  readonly trainTexts: readonly string[];
  readonly heldOutTexts: readonly string[];
  readonly charset: string;
  readonly blank: number;
}

function lines(file: string, scale: number): Tensor {
  const t = readNpy(join(DIR, file));
  return { data: toFloat32(t).map((v) => v / scale), shape: [...t.shape] };
}

export function ctcPatchLines(): CtcPatchLines {
  const meta = JSON.parse(readFileSync(join(DIR, 'ctc_lines.json'), 'utf8')) as {
    train: string[];
    heldout: string[];
    charset: string;
    blank: number;
    scale: number;
  };
  return {
    train: lines('ctc_train.x.npy', meta.scale),
    heldOut: lines('ctc_heldout.x.npy', meta.scale),
    trainTexts: meta.train,
    heldOutTexts: meta.heldout,
    charset: meta.charset,
    blank: meta.blank,
  };
}
