/**
 * Reviewed items as a training set for `gibbon train --data X.npy --labels Y.npy`: X float32
 * (N, …example shape), Y int64 (N). The label of an item is the reviewer's label when given, else
 * the model's answer for an item judged benign; an attack without a label says only that the
 * answer is wrong, so it is left out. Also the PNG of an item's image for the review page.
 */
import { upscaleFactor, encodePixels, toBytes } from '../report/images.js';
import { formatNpy } from '../tensor/npy.js';
import type { ReviewItem } from './review-store.js';

export interface TrainingSet {
  readonly x: Uint8Array;
  readonly y: Uint8Array;
  readonly count: number;
  /** Reviewed items without a label (attacks the reviewer gave no class for). */
  readonly skipped: number;
}

export function trainingSet(items: readonly ReviewItem[], exampleShape: readonly number[]): TrainingSet {
  const per = exampleShape.reduce((a, b) => a * b, 1);
  const kept = items.flatMap((item) => {
    const label = item.label ?? (item.decision === 'benign' ? item.answer : undefined);
    return label === undefined || item.input.length !== per ? [] : [{ item, label }];
  });
  const x = new Float32Array(kept.length * per);
  kept.forEach(({ item }, i) => x.set(item.input, i * per));
  const y = BigInt64Array.from(kept, (k) => BigInt(k.label));
  return {
    x: formatNpy({ type: 'float32', data: x, shape: [kept.length, ...exampleShape] }),
    y: formatNpy({ type: 'int64', data: y, shape: [kept.length] }),
    count: kept.length,
    skipped: items.length - kept.length,
  };
}

/** The PNG of a CHW (1 or 3 channels) or HW example with values in [0, 1]; undefined for other shapes. */
export function examplePng(input: Float32Array, shape: readonly number[]): Uint8Array | undefined {
  const [c, h, w] = shape.length === 3 ? shape : shape.length === 2 ? [1, shape[0]!, shape[1]!] : [0, 0, 0];
  if ((c !== 1 && c !== 3) || !h || !w) return undefined;
  return encodePixels(toBytes(Float64Array.from(input), c, h!, w!), c, h!, w!, upscaleFactor(h!, w!));
}
