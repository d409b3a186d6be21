/**
 * Measures a saved universal perturbation: its fooling rate (and clean against perturbed accuracy)
 * on held-out inputs for every model given (the first is the evaluated one, the others transfer
 * targets), after the simulated print-and-scan, and against ε (δ scaled down). Used by
 * `gibbon eval` (a physical threat model) and by `gibbon uap train|eval`.
 */
import { foolingAfterPrintScan, foolingRate } from '../attacks/uap.js';
import type { LabelledData } from '../data/datasets.js';
import { normByName } from '../norms/index.js';
import type { SavedPerturbation } from '../physical/saved-perturbation.js';
import { IDENTITY_RANGES } from '../physical/transforms.js';
import { applyUniversal, createUniversalSet, projectUniversal } from '../physical/universal-set.js';
import { PHYSICAL_REPORT_FORMAT, type Condition, type PhysicalReport } from '../report/patch-html.js';
import { argmaxRows } from '../tensor/tensor.js';
import type { NamedModel } from './physical-runner.js';

const KEPT_EXAMPLES = 8;

export interface UapEvaluation {
  readonly models: readonly NamedModel[];
  readonly data: LabelledData;
  readonly uaps: readonly SavedPerturbation[];
  readonly printScan: boolean;
  /** ε values of the curve (default: ¼, ½, ¾ and all of the saved ε). */
  readonly epsSweep?: readonly number[];
  readonly seed: number;
  readonly gibbonVersion: string;
  readonly training?: Readonly<Record<string, unknown>>;
  readonly threatModel?: PhysicalReport['threatModel'];
  readonly onProgress?: (done: number, total: number) => void;
}

function accuracy(predicted: Int32Array, labels: Int32Array): number {
  return predicted.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / Math.max(1, predicted.length);
}

export async function evaluateUaps(e: UapEvaluation): Promise<PhysicalReport> {
  const x = { data: e.data.x, shape: [e.data.n, ...e.data.shape] };
  const n = e.data.n;
  const conditions: Condition[] = [];
  const cleans: Int32Array[] = [];
  const many = e.uaps.length > 1;
  const total = e.uaps.length * (e.models.length + (e.printScan ? 1 : 0)) + 1;
  let done = 0;
  const tick = (): void => e.onProgress?.(++done, total);
  const setOf = (u: SavedPerturbation) =>
    createUniversalSet(normByName(u.manifest.universal!.norm), u.manifest.universal!.eps, e.data.shape, { lower: 0, upper: 1 });
  for (const u of e.uaps) {
    const set = setOf(u);
    const prefix = many ? `ε ${u.manifest.universal!.eps} (${u.path}), ` : '';
    for (const [i, m] of e.models.entries()) {
      const f = await foolingRate(m.model, set, x, u.values, cleans[i]);
      cleans[i] = f.clean;
      const fooled = f.fooled.reduce((a, b) => a + b, 0);
      conditions.push({
        label: `${prefix}held-out inputs, ${m.name}`,
        rate: f.rate,
        eligible: n,
        successes: fooled,
        cleanAccuracy: accuracy(f.clean, e.data.y),
        accuracy: accuracy(f.after, e.data.y),
      });
      tick();
    }
    if (e.printScan) {
      const p = await foolingAfterPrintScan(e.models[0]!.model, set, x, u.values, e.seed);
      conditions.push({
        label: `${prefix}print-and-scan, ${e.models[0]!.name}`,
        rate: p.rate,
        eligible: n,
        successes: p.fooled,
        cleanAccuracy: accuracy(p.before, e.data.y),
        accuracy: accuracy(p.after, e.data.y),
      });
      tick();
    }
  }
  const u = e.uaps[0]!;
  const set = setOf(u);
  const delta = u.values;
  const main = e.models[0]!.model;
  const epsSweep: { eps: number; rates: Record<string, number> }[] = [];
  for (const eps of e.epsSweep ?? [0.25, 0.5, 0.75, 1].map((f) => f * set.eps)) {
    const scaled = projectUniversal(
      set,
      delta.map((d) => (d * eps) / set.eps),
      eps,
    );
    const rates: Record<string, number> = {};
    for (const [i, m] of e.models.entries()) rates[m.name] = (await foolingRate(m.model, set, x, scaled, cleans[i])).rate;
    epsSweep.push({ eps, rates });
  }
  tick();
  const first = Math.min(KEPT_EXAMPLES, n);
  const row = delta.length;
  const perturbed = applyUniversal(set, { data: x.data.subarray(0, first * row), shape: [first, ...e.data.shape] }, delta);
  const predicted = argmaxRows(await main.logits(perturbed));
  const fooledMain = (await foolingRate(main, set, x, delta, cleans[0])).fooled;
  const perClass = new Map<number, { eligible: number; successes: number }>();
  e.data.y.forEach((y, i) => {
    const c = perClass.get(y) ?? { eligible: 0, successes: 0 };
    c.eligible++;
    c.successes += fooledMain[i]!;
    perClass.set(y, c);
  });
  return {
    format: PHYSICAL_REPORT_FORMAT,
    version: 1,
    kind: 'uap',
    gibbonVersion: e.gibbonVersion,
    model: e.models[0]!.name,
    data: e.data.source,
    seed: e.seed,
    saved: u.path,
    target: null,
    measure: 'fooling rate',
    values: { shape: [...set.shape], data: [...delta], eps: set.eps },
    conditions,
    epsSweep,
    perClass: [...perClass.entries()].sort((a, b) => a[0] - b[0]).map(([label, c]) => ({ label, ...c })),
    examples: {
      shape: [...e.data.shape],
      images: Array.from({ length: first }, (_, i) => [...perturbed.data.subarray(i * row, (i + 1) * row)]),
      labels: [...e.data.y.slice(0, first)],
      predicted: [...predicted],
    },
    transforms: { ...IDENTITY_RANGES, norm: set.norm.name, eps: set.eps },
    ...(e.training ? { training: e.training } : {}),
    ...(e.threatModel ? { threatModel: e.threatModel } : {}),
  };
}

/** The CLI's lines: each condition, then the ε curve. */
export function uapLines(report: PhysicalReport): string[] {
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
  return [
    ...report.conditions.map(
      (c) =>
        `${c.label}: fooling rate ${pct(c.rate)} (${c.successes}/${c.eligible})${c.accuracy !== undefined ? `; accuracy ${pct(c.cleanAccuracy ?? 0)} clean → ${pct(c.accuracy)} with it` : ''}`,
    ),
    `fooling rate against ε: ${(report.epsSweep ?? [])
      .map(
        (p) =>
          `ε=${p.eps.toFixed(3)} ${Object.values(p.rates)
            .map((r) => pct(r))
            .join(' / ')}`,
      )
      .join(', ')}`,
  ];
}
