/**
 * Measures saved patches: on held-out data, on every model given (the first is the evaluated one,
 * the others transfer targets), under held-out transforms (new placements, rotations, scales …
 * from a seed stream training never used), after the simulated print-and-scan, upright at scale 1,
 * and against patch area and rotation; clean and patched accuracy side by side with the success
 * rate. Several saved patches (e.g. one per target class) give the per-target table. Used by
 * `gibbon eval` (a physical threat model) and by `gibbon patch train|eval`.
 */
import { cleanPredictions, measurePatch, sweepPatch, type MeasureRun, type PatchMeasurement } from '../attacks/patch-measure.js';
import type { LabelledData } from '../data/datasets.js';
import type { ClassifierModel } from '../model/oracles.js';
import { createPatchSet, type PatchSet } from '../physical/patch-set.js';
import { checkPlacementRanges, placementGrid } from '../physical/placement.js';
import type { SavedPerturbation } from '../physical/saved-perturbation.js';
import { IDENTITY_RANGES, type TransformRanges } from '../physical/transforms.js';
import { deriveSeed } from '../random.js';
import { PHYSICAL_REPORT_FORMAT, type Condition, type PhysicalReport } from '../report/patch-html.js';

export interface NamedModel {
  readonly name: string;
  readonly model: ClassifierModel;
}

export interface PatchEvaluation {
  /** The evaluated model first, then transfer targets. */
  readonly models: readonly NamedModel[];
  readonly data: LabelledData;
  readonly patches: readonly SavedPerturbation[];
  /** The held-out transforms of a saved patch. */
  readonly ranges: (saved: SavedPerturbation) => TransformRanges;
  readonly printScan: boolean;
  /** Best placement: a rows × cols grid of centres; random placement when absent. */
  readonly bestGrid?: readonly [number, number];
  readonly seed: number;
  readonly gibbonVersion: string;
  readonly training?: Readonly<Record<string, unknown>>;
  readonly threatModel?: PhysicalReport['threatModel'];
  readonly onProgress?: (done: number, total: number) => void;
}

/** Whether the patch fits the image under these ranges (sweeps skip settings it does not). */
function fitsUnder(set: PatchSet): (r: TransformRanges) => boolean {
  return (r) => {
    try {
      checkPlacementRanges(set, r);
      return true;
    } catch {
      return false;
    }
  };
}

function condition(label: string, m: PatchMeasurement): Condition {
  return {
    label,
    rate: m.rate,
    eligible: m.eligible,
    successes: m.successes,
    coverage: m.meanCoverage,
    cleanAccuracy: m.cleanAccuracy,
    accuracy: m.accuracy,
  };
}

export function patchSetOf(saved: SavedPerturbation, data: LabelledData): PatchSet {
  const [channels, height, width] = data.shape as [number, number, number];
  return createPatchSet({ channels, height, width }, { size: saved.manifest.patch!.side, shape: saved.manifest.patch!.shape });
}

/** One line per condition, as the CLI prints them. */
export function conditionLines(report: PhysicalReport): string[] {
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
  return report.conditions.map(
    (c) =>
      `${c.label}: ${pct(c.rate)} (${c.successes}/${c.eligible}${c.coverage !== undefined ? `, ${pct(c.coverage)} of the image covered` : ''}${
        c.accuracy !== undefined && c.cleanAccuracy !== undefined ? `; accuracy ${pct(c.cleanAccuracy)} clean → ${pct(c.accuracy)} with it` : ''
      })`,
  );
}

export async function evaluatePatches(e: PatchEvaluation): Promise<PhysicalReport> {
  const x = { data: e.data.x, shape: [e.data.n, ...e.data.shape] };
  const bounds = { lower: 0, upper: 1 };
  const cleans = await Promise.all(e.models.map((m) => cleanPredictions(m.model, x)));
  const many = e.patches.length > 1;
  const sweepsPer = 10;
  const total = e.patches.length * e.models.length * (e.printScan ? 2 : 1) + 1 + (e.bestGrid ? 1 : 0) + sweepsPer;
  let done = 0;
  const tick = (): void => e.onProgress?.(++done, total);
  const conditions: Condition[] = [];
  const perTarget: { target: number | null; saved: string; rate: number; eligible: number; successes: number }[] = [];
  let first: { held: PatchMeasurement; set: PatchSet; ranges: TransformRanges; run: MeasureRun } | undefined;
  for (const saved of e.patches) {
    const set = patchSetOf(saved, e.data);
    const ranges = e.ranges(saved);
    checkPlacementRanges(set, ranges);
    const target = saved.manifest.target;
    const centres = e.bestGrid ? placementGrid(set, ranges, e.bestGrid[0], e.bestGrid[1]) : undefined;
    const prefix = many ? `${target === null ? 'untargeted' : `→ ${target}`}, ` : '';
    for (const [j, named] of e.models.entries()) {
      const run: MeasureRun = { target, seed: deriveSeed(e.seed, 'held-out'), bounds, clean: cleans[j], ...(centres ? { centres } : {}) };
      const on = e.models.length > 1 ? `, ${named.name}` : '';
      const held = await measurePatch(named.model, x, e.data.y, set, saved.values, ranges, { ...run, keep: j === 0 && !first ? 8 : 0 });
      tick();
      conditions.push(condition(`${prefix}held-out transforms${on}`, held));
      if (j === 0) {
        perTarget.push({ target, saved: saved.path, rate: held.rate, eligible: held.eligible, successes: held.successes });
        if (!first) first = { held, set, ranges, run };
      }
      if (e.printScan) {
        conditions.push(
          condition(
            `${prefix}held-out transforms + print-and-scan${on}`,
            await measurePatch(named.model, x, e.data.y, set, saved.values, { ...ranges, printScan: true }, { ...run, keep: 0 }),
          ),
        );
        tick();
      }
    }
  }
  const head = first!;
  const main = e.models[0]!;
  const subject = { model: main.model, x, labels: e.data.y, set: head.set, patch: e.patches[0]!.values };
  if (e.bestGrid) {
    const { centres: _, ...random } = head.run;
    conditions.push(
      condition(
        'random placement (no choice of where), held-out transforms',
        await measurePatch(main.model, x, e.data.y, head.set, subject.patch, head.ranges, { ...random, keep: 0 }),
      ),
    );
    tick();
  }
  conditions.push(
    condition(
      'upright, scale 1, no camera effects',
      await measurePatch(main.model, x, e.data.y, head.set, subject.patch, { ...IDENTITY_RANGES, scale: [1, 1] }, { ...head.run, keep: 0 }),
    ),
  );
  tick();
  const sweeps = await sweepPatch(subject, head.ranges, head.run, fitsUnder(head.set));
  done += sweepsPer - 1;
  tick();
  const target = e.patches[0]!.manifest.target;
  const ex = head.held.examples;
  const row = ex.x.data.length / Math.max(1, ex.x.shape[0]!);
  return {
    format: PHYSICAL_REPORT_FORMAT,
    version: 1,
    kind: 'patch',
    gibbonVersion: e.gibbonVersion,
    model: main.name,
    data: e.data.source,
    seed: e.seed,
    saved: e.patches[0]!.path,
    target,
    measure: target === null ? 'untargeted success' : 'targeted success',
    values: { shape: [head.set.patch.channels, head.set.patch.height, head.set.patch.width], data: [...subject.patch], mask: [...head.set.mask] },
    conditions,
    scaleSweep: sweeps.scale,
    rotationSweep: sweeps.rotation,
    perClass: head.held.perClass,
    examples: {
      shape: ex.x.shape.slice(1),
      images: Array.from(ex.labels, (_, i) => [...ex.x.data.subarray(i * row, (i + 1) * row)]),
      labels: [...ex.labels],
      predicted: [...ex.predicted],
    },
    transforms: { ...head.ranges },
    placement: e.bestGrid ? `best of a ${e.bestGrid[0]} × ${e.bestGrid[1]} grid of centres (the attacker's choice per input)` : 'random',
    ...(many ? { perTarget } : {}),
    ...(e.training ? { training: e.training } : {}),
    ...(e.threatModel ? { threatModel: e.threatModel } : {}),
  };
}
