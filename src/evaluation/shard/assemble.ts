/**
 * A batch's record from its units' results, as the in-process runner would have written it: the
 * stage records in cascade order (then the checks), the unbounded check, and what needs the model
 * again (clean predictions, the determinism check, the gallery), recomputed by the coordinator.
 * Each unit keeps only its first `gallerySize` adversarial examples: enough, because the gallery
 * at an ε takes the first examples (by index) that any stage broke, and such an example is also
 * among the first that its own (first) stage broke.
 */
import { GibbonError } from '../../errors.js';
import type { BatchRecord } from '../checkpoint.js';
import { galleryItems } from '../gallery.js';
import { forwardDifference } from '../reference-runs.js';
import type { RunContext } from '../run-context.js';
import type { FirstBreaks } from '../stage.js';
import { batchOf } from './compute.js';
import type { UnitResult } from './store.js';
import { UNBOUNDED_EPS } from './units.js';

export async function assembleBatch(
  ctx: RunContext,
  batchSize: number,
  index: number,
  results: readonly UnitResult[],
  previous: readonly BatchRecord[],
): Promise<BatchRecord> {
  const { batch, clean, predictions } = await batchOf(ctx, batchSize, index);
  const start = index * batchSize;
  const end = start + batch.labels.length;
  const row = batch.x.data.length / batch.labels.length;
  const eps: BatchRecord['eps'][number][] = [];
  const firstBreaks: FirstBreaks[] = [];
  let seconds = 0;
  ctx.tm.eps.forEach((value, e) => {
    const units = results.filter((r) => r.eps === e).sort((p, q) => p.stage - q.stage);
    const first: FirstBreaks = new Map();
    const seen = new Set<number>();
    for (const unit of units) {
      seconds += unit.record.seconds;
      const pointOf = new Map(unit.pointIndices.map((i, k) => [i, unit.points.subarray(k * row, (k + 1) * row)]));
      for (const i of unit.record.broken) {
        if (seen.has(i)) continue;
        seen.add(i);
        const point = pointOf.get(i);
        if (point) first.set(i, { stage: unit.record.label, point });
      }
    }
    eps.push({ eps: value, stages: units.map((u) => u.record) });
    firstBreaks.push(first);
  });
  const unbounded = results.find((r) => r.eps === UNBOUNDED_EPS)?.record;
  if (ctx.checks && !unbounded) throw new GibbonError('internal', `batch ${index} has no unbounded-PGD result`);
  const difference = ctx.checks ? await forwardDifference(ctx, batch.x, clean) : 0;
  const gallery = await galleryItems(ctx, batch, start, clean, predictions, firstBreaks, previous);
  return {
    index,
    start,
    end,
    predictions,
    ...(batch.targets ? { targets: Array.from(batch.targets) } : {}),
    eps,
    ...(unbounded ? { unbounded: unbounded as BatchRecord['unbounded'] & object } : {}),
    forwardDifference: difference,
    gallery,
    seconds: seconds + (unbounded?.seconds ?? 0),
  };
}
