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
import { batchRecord } from '../runner.js';
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
  const prepared = await batchOf(ctx, batchSize, index);
  const { batch } = prepared;
  const start = index * batchSize;
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
  return batchRecord(ctx, prepared, start, {
    eps,
    firstBreaks,
    unbounded: unbounded as BatchRecord['unbounded'],
    previous,
    seconds: () => seconds + (unbounded?.seconds ?? 0),
  });
}
