/**
 * Physical threat models: a threat-model file with `perturbation: patch` or `perturbation: universal`
 * that names saved patches or UAPs (the manifests written by `gibbon patch|uap train`) with the
 * SHA-256 of their values, so `gibbon eval` measures exactly the perturbation the file pins. Fields
 * (YAML or JSON; paths relative to the file's folder):
 *
 *   perturbation: patch                 # or universal
 *   name: sticker-3                     # optional label for reports
 *   saved:                              # one, or a list (e.g. one patch per target class)
 *     - { manifest: patch-3/patch.json, sha256: 9f86d0… }   # sha256: the manifest's values.sha256
 *   data: mnist-test                    # or { x: X.npy, labels: Y.npy }
 *   n: 1000                             # first n examples
 *   seed: 0                             # the held-out draws of placements and transforms
 *   transforms: { rotation: 20, scale: [0.8, 1.2], brightness: 0.1, contrast: 0.1, blur: 0.5, noise: 0.02 }
 *                                       # held-out transforms (patch; default: those of each manifest)
 *   print_scan: true                    # also measure after the simulated print-and-scan (default true)
 *   transfer: [models/mnist-robust.onnx]   # other models the same perturbation is measured on
 *   placement: random                   # patch: random, or { best: [rows, cols] } — the attacker sticks
 *                                       # the patch at whichever of a rows × cols grid of centres works
 */
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import { transformRangesSchema, type TransformRanges } from '../physical/transforms.js';
import { MNIST_TEST, type DataSource } from './threat-model-schema.js';

/** Largest number of saved perturbations, transfer models and best-placement centres a file may name. */
const LIMITS = { saved: 64, transfer: 16, n: 1_000_000, grid: 16 } as const;

export type PhysicalPerturbation = 'patch' | 'universal';

const savedSchema = z.strictObject({ manifest: z.string().min(1).max(4096), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits') });

const schema = z.strictObject({
  perturbation: z.enum(['patch', 'universal']),
  name: z.string().max(200).optional(),
  saved: z.union([savedSchema, z.array(savedSchema).min(1).max(LIMITS.saved)]),
  data: z.union([z.literal(MNIST_TEST), z.strictObject({ x: z.string().min(1).max(4096), labels: z.string().min(1).max(4096) })]),
  n: z.number().int().positive().max(LIMITS.n).optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  transforms: transformRangesSchema.partial().optional(),
  print_scan: z.boolean().optional(),
  transfer: z.array(z.string().min(1).max(4096)).max(LIMITS.transfer).optional(),
  placement: z
    .union([z.literal('random'), z.strictObject({ best: z.tuple([z.number().int().min(1).max(LIMITS.grid), z.number().int().min(1).max(LIMITS.grid)]) })])
    .optional(),
});

export interface PhysicalThreatModel {
  readonly perturbation: PhysicalPerturbation;
  readonly name?: string;
  /** Manifest paths (resolved) with the SHA-256 the file pins; `field` names the entry in errors. */
  readonly saved: readonly { readonly manifest: string; readonly sha256: string; readonly field: string }[];
  readonly data: DataSource;
  readonly n?: number;
  readonly seed: number;
  /** Held-out transforms over those of each manifest (patches). */
  readonly transforms?: Partial<TransformRanges>;
  readonly printScan: boolean;
  /** Other models (resolved paths). */
  readonly transfer: readonly string[];
  /** Best placement: a rows × cols grid of centres; random placement when absent. */
  readonly bestGrid?: readonly [number, number];
}

/** Whether a parsed threat-model file is a physical one. */
export function isPhysicalThreatModelValue(value: unknown): boolean {
  const p = value !== null && typeof value === 'object' ? (value as { perturbation?: unknown }).perturbation : undefined;
  return p === 'patch' || p === 'universal';
}

function fieldOf(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** A parsed `perturbation: patch|universal` file, validated; errors name the field and what would be valid. */
export function validatePhysicalThreatModel(value: unknown, where: string, baseDir: string): PhysicalThreatModel {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = fieldOf(issue.path);
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field '${issue.keys[0]}'${field ? ` in ${field}` : ''}; physical threat models have: ${Object.keys(schema.shape).join(', ')}`
        : `${field || 'the file'}: ${issue.message}`;
    throw new GibbonError('invalid_threat_model', `physical threat model ${where}: ${message}`, { path: where, option: field || undefined });
  }
  const v = result.data;
  const at = (p: string): string => (isAbsolute(p) ? p : join(baseDir, p));
  const saved = Array.isArray(v.saved) ? v.saved : [v.saved];
  if (v.perturbation === 'universal' && (v.placement !== undefined || v.transforms !== undefined)) {
    const field = v.placement !== undefined ? 'placement' : 'transforms';
    throw new GibbonError('invalid_threat_model', `physical threat model ${where}: ${field} applies to patches, not to a universal perturbation`, {
      path: where,
      option: field,
    });
  }
  return {
    perturbation: v.perturbation,
    ...(v.name !== undefined ? { name: v.name } : {}),
    saved: saved.map((s, i) => ({ manifest: at(s.manifest), sha256: s.sha256, field: Array.isArray(v.saved) ? `saved[${i}]` : 'saved' })),
    data: v.data === MNIST_TEST ? MNIST_TEST : { x: at(v.data.x), labels: at(v.data.labels) },
    ...(v.n !== undefined ? { n: v.n } : {}),
    seed: v.seed ?? 0,
    ...(v.transforms ? { transforms: v.transforms } : {}),
    printScan: v.print_scan ?? true,
    transfer: (v.transfer ?? []).map(at),
    ...(v.placement && v.placement !== 'random' ? { bestGrid: v.placement.best } : {}),
  };
}
