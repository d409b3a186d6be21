/**
 * Saved patches and universal perturbations are data, three files with one stem:
 * - `STEM.npy`: the exact float32 values, (C, h, w) for a patch, (C, H, W) — one example's shape —
 *   for a UAP. This is what evaluation loads (its SHA-256 is in the manifest and checked).
 * - `STEM.png`: 16-bit PNG, one pixel per value, alpha = the patch's shape, pHYs = the print DPI;
 *   a UAP δ ∈ [−ε, ε] is stored as (δ/ε + 1)/2. `STEM-print.png` is the same enlarged for printing
 *   at `print.mm` millimetres a side.
 * - `STEM.json`: the manifest: kind, the model input it was made for, size and shape or norm and
 *   ε, target, the transforms seen in training, the print size, and how it was trained.
 * A manifest names its files by base name only; they must sit beside it (no path leaves its folder).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import { sha256Hex } from '../storage/checkpoint-file.js';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { readJsonFile } from '../storage/json-file.js';
import { formatNpy, readNpy } from '../tensor/npy.js';
import { PATCH_SHAPES } from './patch-set.js';
import { encodePrintablePng } from './printable-png.js';
import { transformRangesSchema, type TransformRanges } from './transforms.js';

export const SAVED_FORMAT = 'gibbon-physical';
export const SAVED_VERSION = 1;
/** A manifest larger than this is not one. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

const fileName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => s === basename(s) && s !== '.' && s !== '..', 'must be a file name beside the manifest');

const manifestSchema = z
  .object({
    format: z.literal(SAVED_FORMAT),
    version: z.literal(SAVED_VERSION),
    kind: z.enum(['patch', 'uap']),
    inputShape: z.array(z.number().int().positive()).min(1).max(4),
    valuesShape: z.array(z.number().int().positive()).min(1).max(4),
    patch: z
      .object({
        shape: z.enum(PATCH_SHAPES as ['square', 'circle']),
        side: z.number().int().positive(),
        area: z.number().positive(),
        fraction: z.number().positive(),
      })
      .optional(),
    universal: z.object({ norm: z.enum(['linf', 'l2']), eps: z.number().positive() }).optional(),
    target: z.number().int().nonnegative().nullable(),
    transforms: transformRangesSchema,
    print: z.object({ dpi: z.number().positive(), mm: z.number().positive(), png: fileName, printPng: fileName }),
    values: z.object({ npy: fileName, sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    training: z.record(z.string(), z.unknown()),
  })
  .strict();

export type SavedManifest = z.infer<typeof manifestSchema>;

export interface SavedPerturbation {
  readonly manifest: SavedManifest;
  readonly values: Float32Array;
  readonly path: string;
}

export interface SaveRequest {
  readonly kind: 'patch' | 'uap';
  readonly inputShape: readonly number[];
  readonly valuesShape: readonly number[];
  readonly values: Float32Array;
  readonly alpha?: Float32Array;
  readonly patch?: SavedManifest['patch'];
  readonly universal?: SavedManifest['universal'];
  readonly target: number | null;
  readonly transforms: TransformRanges;
  readonly dpi: number;
  /** Printed side in millimetres. */
  readonly mm: number;
  readonly training: Record<string, unknown>;
}

/** Writes STEM.npy, STEM.png, STEM-print.png and STEM.json (each atomically; the manifest last). Returns the manifest path. */
export function savePerturbation(stemPath: string, request: SaveRequest): string {
  const stem = basename(stemPath);
  const dir = dirname(stemPath);
  const npy = formatNpy({ type: 'float32', data: request.values, shape: [...request.valuesShape] });
  const [channels, height, width] = request.valuesShape.length === 3 ? request.valuesShape : [1, 1, request.valuesShape.at(-1)!];
  const shape = { channels: channels!, height: height!, width: width! };
  const eps = request.universal?.eps;
  const shown = eps ? request.values.map((v) => (v / eps + 1) / 2) : request.values;
  // The print copy: each value a square of ⌈dpi · mm / 25.4 / side⌉ pixels.
  const scale = Math.max(1, Math.round((request.dpi * request.mm) / 25.4 / Math.max(shape.height, shape.width)));
  const names = { npy: `${stem}.npy`, png: `${stem}.png`, printPng: `${stem}-print.png`, json: `${stem}.json` };
  writeFileAtomically(join(dir, names.npy), [npy]);
  writeFileAtomically(join(dir, names.png), [
    encodePrintablePng(shown, shape, { alpha: request.alpha, dpi: (25.4 * Math.max(shape.height, shape.width)) / request.mm }),
  ]);
  writeFileAtomically(join(dir, names.printPng), [encodePrintablePng(shown, shape, { alpha: request.alpha, scale, dpi: request.dpi })]);
  const manifest: SavedManifest = {
    format: SAVED_FORMAT,
    version: SAVED_VERSION,
    kind: request.kind,
    inputShape: [...request.inputShape],
    valuesShape: [...request.valuesShape],
    ...(request.patch ? { patch: request.patch } : {}),
    ...(request.universal ? { universal: request.universal } : {}),
    target: request.target,
    transforms: { ...request.transforms, scale: [...request.transforms.scale] as [number, number] },
    print: { dpi: request.dpi, mm: (scale * Math.max(shape.height, shape.width) * 25.4) / request.dpi, png: names.png, printPng: names.printPng },
    values: { npy: names.npy, sha256: sha256Hex(request.values) },
    training: request.training,
  };
  const path = join(dir, names.json);
  writeFileAtomically(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return path;
}

function bad(path: string, option: string, what: string): GibbonError {
  return new GibbonError('invalid_input', `${path} is not a saved gibbon patch or UAP: ${what}`, { path, option });
}

/** Reads and checks a saved perturbation (manifest, then the .npy beside it, its checksum and shape). */
export function loadPerturbation(path: string, option: string): SavedPerturbation {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path}`, { path, option });
  const stat = statSync(path);
  if (!stat.isFile()) throw bad(path, option, 'not a regular file');
  if (stat.size > MAX_MANIFEST_BYTES) throw bad(path, option, `${stat.size} bytes, more than a manifest may be (${MAX_MANIFEST_BYTES})`);
  const raw = readJsonFile(path, (reason, cause) => new GibbonError('invalid_input', `${path} is not valid JSON (${reason})`, { path, option }, { cause }));
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw bad(path, option, `${issue.path.join('.') || 'manifest'}: ${issue.message}`);
  }
  const manifest = parsed.data;
  if ((manifest.kind === 'patch') !== (manifest.patch !== undefined) || (manifest.kind === 'uap') !== (manifest.universal !== undefined)) {
    throw bad(path, option, `a ${manifest.kind} needs its '${manifest.kind === 'patch' ? 'patch' : 'universal'}' section and not the other`);
  }
  const npyPath = join(dirname(path), manifest.values.npy);
  const t = readNpy(npyPath);
  if (t.type !== 'float32') throw bad(path, option, `${manifest.values.npy} is ${t.type}, not float32`);
  if (t.shape.join(',') !== manifest.valuesShape.join(','))
    throw bad(path, option, `${manifest.values.npy} has shape [${t.shape.join(', ')}], the manifest says [${manifest.valuesShape.join(', ')}]`);
  const values = t.data as Float32Array;
  if (sha256Hex(values) !== manifest.values.sha256)
    throw bad(path, option, `${manifest.values.npy} does not match the manifest's SHA-256 (changed or damaged)`);
  if (values.some((v) => !Number.isFinite(v))) throw bad(path, option, `${manifest.values.npy} contains NaN or ±Inf`);
  return { manifest, values, path };
}

/** Throws when a saved perturbation was made for another input size than the model's (one example's shape). */
export function checkFitsInput(saved: SavedPerturbation, exampleShape: readonly number[], option: string): void {
  if (saved.manifest.inputShape.join(',') !== exampleShape.join(',')) {
    throw new GibbonError(
      'invalid_input',
      `${saved.path} is a ${saved.manifest.kind} for inputs of shape [${saved.manifest.inputShape.join(', ')}], but the model's inputs are [${exampleShape.join(', ')}]`,
      { path: saved.path, option },
    );
  }
}
