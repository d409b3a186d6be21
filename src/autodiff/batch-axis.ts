/**
 * Which axis of a model output holds the examples. Class scores are read batch first, but exports
 * do not always put the batch there: a PyTorch CRNN or any `batch_first=False` sequence model
 * outputs (T, N, C). Reading axis 0 as the batch there averages each frame over the examples and
 * hands out frames as if they were examples, so the axis is found from the probe instead.
 */
import { GibbonError } from '../errors.js';

/**
 * The batch axis of an output of probed `shape`. With a dynamic batch the probe runs at two batch
 * sizes and marks the dimensions that followed it as null: the batch is the one null axis (axis 0
 * when it is among several). With a fixed batch B (one probe run) it is axis 0 when that has size B
 * or is null (a declared (batch, classes) output is not probed), else the only axis of size B.
 * Anything else cannot be read one row per example.
 */
export function batchAxisOf(shape: readonly (number | null)[], fixedBatch: number | undefined, output: string): number {
  const shown = `[${shape.map((d) => d ?? 'N').join(', ')}]`;
  if (fixedBatch === undefined) {
    const dynamic = shape.flatMap((d, i) => (d === null ? [i] : []));
    if (dynamic.length === 1 || dynamic[0] === 0) return dynamic[0]!;
    const why = dynamic.length === 0 ? 'does not change size with the batch' : `changes size with the batch on axes ${dynamic.join(', ')}`;
    throw new GibbonError('invalid_model', `output '${output}' ${shown} ${why}; class scores need one row per example`, { option: 'output' });
  }
  if (shape[0] === fixedBatch || shape[0] === null) return 0;
  const sized = shape.flatMap((d, i) => (d === fixedBatch ? [i] : []));
  if (sized.length === 1) return sized[0]!;
  throw new GibbonError(
    'invalid_model',
    `cannot tell which axis of output '${output}' ${shown} is the batch (the model's fixed batch is ${fixedBatch}); class scores need one row per example`,
    { option: 'output' },
  );
}
