/**
 * `gibbon eval --save-adversarials DIR`: the adversarial examples an evaluation found, as .npy with
 * a manifest, so that a user can check them in another framework or reuse them (adversarial
 * training, regression tests).
 *
 * Each batch writes DIR/batches/batch-<index>.npy (one row per (ε, broken example), in ε order) and
 * batch-<index>.json (what each row is) atomically when it finishes, so a killed run that is resumed
 * keeps what it saved. When the evaluation ends, the batches are assembled into DIR/eps-<ε>.npy
 * (every adversarial example at that ε, in example order) and DIR/manifest.json:
 *
 * ```json
 * { "model": "m.onnx", "norm": "linf", "input_shape": [1, 28, 28], "files": { "0.3": "eps-0.3.npy" },
 *   "examples": [{ "index": 7, "eps": 0.3, "attack": "apgd-ce", "label": 2, "predicted": 8,
 *                  "file": "eps-0.3.npy", "row": 0, "distance": 0.3 }] }
 * ```
 * `predicted` is the class the model gives the saved point (a fresh forward pass), `distance` its
 * norm distance to the clean example.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import { zodCount } from '../options.js';
import type { Norm } from '../norms/norm.js';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { formatNpy, readNpy, toFloat32 } from '../tensor/npy.js';
import type { Tensor } from '../tensor/tensor.js';

export const ADVERSARIALS_MANIFEST = 'manifest.json';

const rowSchema = z.strictObject({
  index: zodCount,
  eps: z.number().nonnegative(),
  attack: z.string(),
  label: zodCount,
  predicted: zodCount,
  distance: z.number().nonnegative(),
});
export type SavedAdversarial = z.infer<typeof rowSchema>;
const batchSchema = z.strictObject({ rows: z.array(rowSchema) });

/** One broken example of a batch: its global index, the ε, the stage that broke it and the point. */
export interface BrokenExample {
  readonly index: number;
  readonly eps: number;
  readonly attack: string;
  readonly label: number;
  readonly point: Float32Array;
}

const batchFile = (dir: string, index: number, ext: 'npy' | 'json'): string => join(dir, 'batches', `batch-${index}.${ext}`);

/**
 * Writes one batch's adversarial examples. `classify` gives the model's classes of the points (one
 * forward pass); `clean` the clean example of a global index, for the distance.
 */
export async function saveBatchAdversarials(
  dir: string,
  batchIndex: number,
  broken: readonly BrokenExample[],
  exampleShape: readonly number[],
  norm: Norm,
  clean: (index: number) => Float32Array,
  classify: (points: Tensor) => Promise<readonly number[]>,
): Promise<void> {
  const row = exampleShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(broken.length * row);
  broken.forEach((b, k) => data.set(b.point, k * row));
  const points: Tensor = { data, shape: [broken.length, ...exampleShape] };
  const predicted = broken.length > 0 ? await classify(points) : [];
  const rows: SavedAdversarial[] = broken.map((b, k) => {
    const x0 = clean(b.index);
    const distance = norm.distance({ data: x0, shape: [1, ...exampleShape] }, { data: b.point, shape: [1, ...exampleShape] })[0]!;
    return { index: b.index, eps: b.eps, attack: b.attack, label: b.label, predicted: predicted[k]!, distance };
  });
  writeFileAtomically(batchFile(dir, batchIndex, 'npy'), [formatNpy({ type: 'float32', data, shape: points.shape })], { what: 'the adversarial examples' });
  writeFileAtomically(batchFile(dir, batchIndex, 'json'), `${JSON.stringify({ rows })}\n`, { what: 'the adversarial examples' });
}

/** Whether batch `index` already saved its adversarial examples (a resumed run skips it). */
export function batchSaved(dir: string, index: number): boolean {
  return existsSync(batchFile(dir, index, 'json')) && existsSync(batchFile(dir, index, 'npy'));
}

function readBatch(dir: string, index: number, row: number): { rows: SavedAdversarial[]; data: Float32Array } {
  const where = batchFile(dir, index, 'json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(where, 'utf8'));
  } catch (error) {
    throw new GibbonError('invalid_checkpoint', `cannot read ${where}: ${(error as Error).message}`, { path: where });
  }
  const checked = batchSchema.safeParse(parsed);
  if (!checked.success) throw new GibbonError('invalid_checkpoint', `${where} is not a batch of saved adversarial examples`, { path: where });
  const npyPath = batchFile(dir, index, 'npy');
  const tensor = readNpy(npyPath);
  const data = toFloat32(tensor);
  if (data.length !== checked.data.rows.length * row) {
    throw new GibbonError('invalid_checkpoint', `${npyPath} holds ${data.length} values; its manifest lists ${checked.data.rows.length} rows of ${row}`, {
      path: npyPath,
    });
  }
  return { rows: checked.data.rows, data };
}

export interface AssembledAdversarials {
  readonly manifest: string;
  readonly saved: number;
  /** Batches with nothing saved (run before --save-adversarials was given, then resumed with it). */
  readonly missingBatches: readonly number[];
}

/** Joins the batch files into one .npy per ε and manifest.json. */
/** How examples attacked in another space (per-channel bounds: the unit space) are written in the user's units. */
export interface RawUnits {
  /** What the manifest's `units` says. */
  readonly text: string;
  readonly toRaw: (x: Tensor) => Tensor;
}

export function assembleAdversarials(
  dir: string,
  info: {
    readonly model: string;
    readonly norm: string;
    readonly eps: readonly number[];
    readonly batches: number;
    readonly exampleShape: readonly number[];
    /** Map each file to raw units before writing it (absent: written as attacked). */
    readonly units?: RawUnits;
  },
): AssembledAdversarials {
  const row = info.exampleShape.reduce((a, b) => a * b, 1);
  const perEps = new Map<number, { rows: SavedAdversarial[]; chunks: Float32Array[] }>(info.eps.map((e) => [e, { rows: [], chunks: [] }]));
  const missingBatches: number[] = [];
  for (let b = 0; b < info.batches; b++) {
    if (!batchSaved(dir, b)) {
      missingBatches.push(b);
      continue;
    }
    const { rows, data } = readBatch(dir, b, row);
    rows.forEach((r, k) => {
      const slot = perEps.get(r.eps);
      if (!slot) return;
      slot.rows.push(r);
      slot.chunks.push(data.subarray(k * row, (k + 1) * row));
    });
  }
  const files: Record<string, string> = {};
  const examples: (SavedAdversarial & { file: string; row: number })[] = [];
  for (const [eps, slot] of perEps) {
    const order = slot.rows.map((_, k) => k).sort((p, q) => slot.rows[p]!.index - slot.rows[q]!.index);
    const file = `eps-${eps}.npy`;
    const data = new Float32Array(order.length * row);
    order.forEach((k, r) => {
      data.set(slot.chunks[k]!, r * row);
      examples.push({ ...slot.rows[k]!, file, row: r });
    });
    const attacked: Tensor = { data, shape: [order.length, ...info.exampleShape] };
    const saved = info.units ? info.units.toRaw(attacked) : attacked;
    writeFileAtomically(join(dir, file), [formatNpy({ type: 'float32', data: saved.data, shape: saved.shape })], {
      what: 'the adversarial examples',
    });
    files[String(eps)] = file;
  }
  const manifest = join(dir, ADVERSARIALS_MANIFEST);
  const body = {
    model: info.model,
    norm: info.norm,
    input_shape: info.exampleShape,
    files,
    missing_batches: missingBatches,
    examples,
    ...(info.units ? { units: info.units.text } : {}),
  };
  writeFileAtomically(manifest, `${JSON.stringify(body, null, 1)}\n`, { what: 'the adversarial examples manifest' });
  return { manifest, saved: examples.length, missingBatches };
}
