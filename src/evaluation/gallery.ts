/**
 * What an evaluation keeps of the adversarial examples it found, from each batch's first breaks
 * (per ε, the first stage that broke each example): the report's gallery (a few examples per ε,
 * with the classes and confidences before and after) and, with --save-adversarials, every one as
 * .npy (adversarial-export.ts).
 */
import type { GalleryItem } from '../report/index.js';
import { rowSize } from '../tensor/rows.js';
import { argmax, argmaxPerRow, softmax } from '../tensor/scores.js';
import type { Tensor } from '../tensor/tensor.js';
import { saveBatchAdversarials, type BrokenExample } from './adversarial-export.js';
import type { BatchRecord } from './checkpoint.js';
import type { BatchInputs, RunContext } from './run-context.js';
import type { FirstBreaks } from './stage.js';

/** Gallery items from this batch (its first example is `start`), only as many per ε as the earlier batches left to fill. */
export async function galleryItems(
  ctx: RunContext,
  batch: BatchInputs,
  start: number,
  clean: Tensor,
  predictions: readonly number[],
  firstBreaks: readonly FirstBreaks[],
  previous: readonly BatchRecord[],
): Promise<GalleryItem[]> {
  const shape = ctx.imageShape;
  if (!shape || ctx.gallerySize === 0) return [];
  const c = ctx.numClasses;
  const row = rowSize(batch.x);
  const chosen: { eps: number; i: number; stage: string; point: Float32Array }[] = [];
  ctx.tm.eps.forEach((eps, k) => {
    const have = previous.reduce((s, r) => s + r.gallery.filter((g) => g.eps === eps).length, 0);
    const want = ctx.gallerySize - have;
    const breaks = [...firstBreaks[k]!.entries()].sort((a, b) => a[0] - b[0]).slice(0, Math.max(0, want));
    for (const [i, b] of breaks) chosen.push({ eps, i, stage: b.stage, point: b.point });
  });
  if (chosen.length === 0) return [];
  const adv = new Float32Array(chosen.length * row);
  chosen.forEach((ch, r) => adv.set(ch.point, r * row));
  const logits = await ctx.options.model.logits({ data: adv, shape: [chosen.length, ...batch.x.shape.slice(1)] });
  return chosen.map((ch, r) => {
    const p0 = softmax(clean.data.subarray(ch.i * c, (ch.i + 1) * c));
    const p1 = softmax(logits.data.subarray(r * c, (r + 1) * c));
    const advPrediction = argmax(p1);
    return {
      index: start + ch.i,
      eps: ch.eps,
      attack: ch.stage,
      label: batch.labels[ch.i]!,
      clean_prediction: predictions[ch.i]!,
      clean_confidence: p0[predictions[ch.i]!]!,
      adversarial_prediction: advPrediction,
      adversarial_confidence: p1[advPrediction]!,
      shape: [...shape],
      clean: Array.from(batch.x.data.subarray(ch.i * row, (ch.i + 1) * row)),
      adversarial: Array.from(ch.point),
    };
  });
}

/** Writes the batch's adversarial examples (the first break of each example at each ε) to `dir`. */
export async function saveFirstBreaks(ctx: RunContext, dir: string, batch: BatchInputs, start: number, firstBreaks: readonly FirstBreaks[]): Promise<void> {
  const broken: BrokenExample[] = [];
  ctx.tm.eps.forEach((eps, e) => {
    const byIndex = [...firstBreaks[e]!.entries()].sort((p, q) => p[0] - q[0]);
    for (const [i, f] of byIndex) broken.push({ index: start + i, eps, attack: f.stage, label: Number(batch.labels[i]), point: f.point });
  });
  const shape = batch.x.shape.slice(1);
  const row = rowSize(batch.x);
  await saveBatchAdversarials(
    dir,
    batch.index,
    broken,
    shape,
    ctx.norm,
    (index) => batch.x.data.subarray((index - start) * row, (index - start + 1) * row),
    async (points) => argmaxPerRow(await ctx.options.model.logits(points), ctx.numClasses),
  );
}
