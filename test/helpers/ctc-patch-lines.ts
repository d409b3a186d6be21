/**
 * The digit lines of the CTC patch measurement (test/fixtures/physical/ctc_*, made by
 * tools/physical/make_ctc_patch_lines.py with the renderer of the CTC recogniser's fixture): a
 * training set and a held-out set of rendered lines (uint8 .npy, ÷ 255) and their strings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, toFloat32 } from '../../src/tensor/npy.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { trainPatchWith } from '../../src/attacks/patch.js';
import { sequencePatchObjective } from '../../src/attacks/patch-sequence.js';
import type { SequenceOnnxModel } from '../../src/model/sequence-model.js';
import { createPatchSet, type PatchSet } from '../../src/physical/patch-set.js';
import type { TransformRanges } from '../../src/physical/transforms.js';
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

/** The sticker (≤ 5% of the 32×128 line) and the transforms of the CTC patch measurement (the text line's). */
export const CTC_PATCH_RANGES: TransformRanges = { rotation: 5, scale: [0.85, 1], brightness: 0.05, contrast: 0.05, blur: 0.5, noise: 0.02, printScan: false };

export function ctcPatchSet(): PatchSet {
  return createPatchSet({ channels: 1, height: 32, width: 128 }, { size: { fraction: 0.05 } });
}

/** An untargeted patch trained on the training lines (+CTC of what the recogniser reads on each). */
export async function trainCtcPatch(recogniser: SequenceOnnxModel, fixture: CtcPatchLines, set: PatchSet, steps: number): Promise<Float32Array> {
  const clean = await recogniser.decode(fixture.train);
  const objective = sequencePatchObjective(recogniser, clean);
  const state = await trainPatchWith(
    objective,
    { lower: 0, upper: 1 },
    fixture.train,
    Int32Array.from(clean.keys()),
    set,
    CTC_PATCH_RANGES,
    { seed: 0 },
    { steps, learningRate: 0.05 },
  );
  return state.patch;
}
