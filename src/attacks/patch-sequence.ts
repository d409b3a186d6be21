/**
 * Adversarial patch against a CTC sequence recogniser (text lines): one sticker that changes the
 * recognised string of any line it is stuck on.
 *
 * Paper: Brown et al., "Adversarial Patch", 2017, https://arxiv.org/abs/1712.09665, with the CTC
 * loss of Graves et al. 2006 as the objective (as in the CTC attacks of Carlini & Wagner 2018,
 * https://arxiv.org/abs/1801.01944).
 *
 * Threat model: white-box (input gradients of the CTC loss, model/sequence-model.ts); the `patch`
 * perturbation set; untargeted: each step ascends +CTC(clean transcription) of the composed lines,
 * so the patch pulls every line away from what it read before. Trained by attacks/patch.ts's loop
 * (same options and defaults, EOT over the same transforms); measured on held-out lines read right
 * before, under random placement or the best of a grid of centres.
 *
 * @example
 * ```ts
 * const clean = await model.decode(x);
 * const state = await trainPatchWith(sequencePatchObjective(model, clean), bounds, x, Int32Array.from(clean.keys()), set, ranges, { seed: 0 });
 * const m = await measureSequencePatch(model, heldX, truth, set, state.patch, ranges, { seed: 1, bounds });
 * ```
 */
import type { LabelSequences, SequenceOnnxModel } from '../model/sequence-model.js';
import { sameSequence } from '../model/sequence-decode.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { composeBatch } from '../physical/patch-scene.js';
import type { PatchSet } from '../physical/patch-set.js';
import type { TransformRanges } from '../physical/transforms.js';
import type { PatchObjective } from './patch.js';

/** +CTC of each line's clean transcription (ascending it changes the string); success when the composed line decodes to something else. */
export function sequencePatchObjective(model: SequenceOnnxModel, clean: LabelSequences): PatchObjective {
  return async (x, rows) => {
    const targets = Array.from(rows, (k) => clean[k]!);
    const r = await model.lossAndGrad(x, targets, 'ctc');
    const read = model.decodeScores(r.scores);
    return { loss: r.loss, grad: r.grad, success: read.map((s, i) => !sameSequence(s, targets[i]!)) };
  };
}

export interface SequencePatchMeasurement {
  /** Lines read right without the patch (the rate is over them). */
  readonly eligible: number;
  /** Of those, lines whose transcription the patch changes. */
  readonly successes: number;
  readonly rate: number;
  /** What the first lines read with the patch. */
  readonly examples: readonly (readonly number[])[];
}

/** On lines that read right (`truth`), the fraction whose transcription the patch changes; with `centres`, the attacker keeps the first centre that works. */
export async function measureSequencePatch(
  model: SequenceOnnxModel,
  x: Tensor,
  truth: LabelSequences,
  set: PatchSet,
  patch: Float32Array,
  ranges: TransformRanges,
  run: { readonly seed: number; readonly bounds: { lower: number; upper: number }; readonly centres?: readonly { x: number; y: number }[] },
): Promise<SequencePatchMeasurement> {
  const clean = await model.decode(x);
  const rows = Int32Array.from(clean.keys()).filter((i) => sameSequence(clean[i]!, truth[i]!));
  const row = set.image.channels * set.image.height * set.image.width;
  const lines = new Float32Array(rows.length * row);
  rows.forEach((k, i) => lines.set(x.data.subarray(k * row, (k + 1) * row), i * row));
  const subset = { data: lines, shape: [rows.length, ...x.shape.slice(1)] };
  const rng = Rng.derive(run.seed, 'patch-measure');
  const changed = new Uint8Array(rows.length);
  const read: number[][] = Array.from(rows, () => []);
  for (const centre of run.centres?.length ? run.centres : [undefined]) {
    const composed = composeBatch(set, subset, patch, ranges, rng, run.bounds, centre);
    const now = await model.decode(composed.x);
    now.forEach((s, i) => {
      if (changed[i]) return;
      read[i] = s;
      if (!sameSequence(s, truth[rows[i]!]!)) changed[i] = 1;
    });
  }
  const successes = changed.reduce((a, b) => a + b, 0);
  return { eligible: rows.length, successes, rate: rows.length ? successes / rows.length : 0, examples: read.slice(0, 8) };
}
