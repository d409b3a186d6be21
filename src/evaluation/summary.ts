/**
 * The report of an evaluation from its batch records: a pure function, no I/O (the run's time and
 * environment come in as arguments), so a resumed run's report is computed like any other.
 *
 * Robust accuracy at ε is the worst case per example over every stage run there (the ensemble and
 * the reference runs). Per attack row: for an ensemble stage, the cascade's accuracy after it; for
 * a reference run, that run's accuracy alone. The masking checks get what was measured per ε.
 */
import { maskingChecks, type CheckEvidence, type EpsEvidence } from './checks.js';
import type { BatchRecord } from './checkpoint.js';
import { NOISE_LABEL, SINGLE_STEP_LABEL } from './reference-runs.js';
import { StageCounters, type StageRecord } from './stage.js';
import { threatModelRecord, type ThreatModel } from './threat-model.js';
import { REPORT_SCHEMA_VERSION, type AttackRecord, type Report, type ReportModel } from '../report/index.js';

/** What the report says besides the batch records. */
export interface SummaryContext {
  readonly threatModel: ThreatModel;
  /** Every example's label (the data's order). */
  readonly labels: Int32Array;
  readonly data: string;
  /** Labels of the ensemble's iterative gradient stages (the single-step check compares them). */
  readonly iterativeLabels: ReadonlySet<string>;
  /** Whether the masking checks' reference runs ran. */
  readonly checks: boolean;
  readonly model: ReportModel;
  readonly bpda: boolean;
  readonly bpdaSurrogates: readonly string[];
  readonly eotSamples: number;
  /** Notes for the user, reported as warnings. */
  readonly notes: readonly string[];
  readonly gibbonVersion: string;
  /** When the report was made (ISO time) and on what. */
  readonly created: string;
  readonly environment: Report['environment'];
  /**
   * The evaluation's wall-clock seconds, when the caller measured them (default: the batches' seconds summed,
   * which is the wall time only when one process computed the batches one after another; a sharded run's
   * batches are computed by several workers at once).
   */
  readonly seconds?: number;
}

/** A stage's records over all batches at one ε (batch-local indices made global). */
interface StageTotals {
  readonly label: string;
  readonly role: StageRecord['role'];
  readonly oracle: StageRecord['oracle'];
  readonly iterative: boolean;
  readonly broken: Set<number>;
  readonly norms: number[];
  /** Queries per broken example, when the stage is query-based. */
  brokenQueries: number[] | undefined;
  readonly counters: StageCounters;
}

type Warnings = Map<string, { code: string; message: string; batches: number }>;

/** Per stage label, in order of first appearance, its totals at the ε of index k; warnings are collected by (stage, ε, code). */
function stageTotals(
  records: readonly BatchRecord[],
  k: number,
  eps: number,
  iterativeLabels: ReadonlySet<string>,
  warnings: Warnings,
): Map<string, StageTotals> {
  const totals = new Map<string, StageTotals>();
  for (const r of records) {
    for (const s of r.eps[k]!.stages) {
      let t = totals.get(s.label);
      if (!t) {
        t = {
          label: s.label,
          role: s.role,
          oracle: s.oracle,
          iterative: iterativeLabels.has(s.label),
          broken: new Set(),
          norms: [],
          brokenQueries: undefined,
          counters: new StageCounters(),
        };
        totals.set(s.label, t);
      }
      for (const i of s.broken) t.broken.add(r.start + i);
      t.norms.push(...s.norms);
      if (s.brokenQueries) (t.brokenQueries ??= []).push(...s.brokenQueries);
      t.counters.add(s);
      for (const w of s.warnings) {
        const key = `${s.label}|${eps}|${w.code}`;
        const seen = warnings.get(key);
        if (seen) seen.batches++;
        else warnings.set(key, { code: w.code, message: `${s.label} at ε=${eps}: ${w.message}`, batches: 1 });
      }
    }
  }
  return totals;
}

/** The attack rows and the masking checks' evidence at one ε. */
function summariseEps(
  eps: number,
  totals: Map<string, StageTotals>,
  correct: ReadonlySet<number>,
  n: number,
  checks: boolean,
): { rows: AttackRecord[]; evidence: EpsEvidence } {
  const robustAfter = (counted: (t: StageTotals) => boolean): number => {
    const union = new Set<number>();
    for (const t of totals.values()) if (counted(t)) for (const i of t.broken) union.add(i);
    let robust = 0;
    for (const i of correct) if (!union.has(i)) robust++;
    return robust;
  };
  const rows: AttackRecord[] = [];
  const broken = new Set<number>();
  let whiteBoxSeen = false;
  let blackBoxOnly: number | undefined;
  for (const t of totals.values()) {
    // Ensemble stages: the cascade's accuracy after this stage. Check runs: their accuracy alone.
    let robust: number;
    if (t.role === 'ensemble') {
      for (const i of t.broken) broken.add(i);
      robust = 0;
      for (const i of correct) if (!broken.has(i)) robust++;
    } else {
      robust = robustAfter((u) => u === t);
    }
    const meanNorm = t.norms.length > 0 ? t.norms.reduce((a, b) => a + b, 0) / t.norms.length : null;
    const curve = t.brokenQueries ? { attacked: t.counters.attacked, queries_to_success: [...t.brokenQueries].sort((a, b) => a - b) } : {};
    const { queries, steps, seconds } = t.counters;
    rows.push({ name: t.label, eps, accuracy: robust / n, mean_norm: meanNorm, queries, steps, seconds, ...curve });
    if (t.role === 'ensemble' && t.oracle === 'gradient') whiteBoxSeen = true;
    if (t.role === 'ensemble' && (t.oracle === 'score' || t.oracle === 'decision') && whiteBoxSeen) blackBoxOnly = (blackBoxOnly ?? 0) + t.broken.size;
  }
  const all = [...totals.values()];
  const sum = all.reduce((s, t) => s.add(t.counters), new StageCounters());
  const single = totals.get(SINGLE_STEP_LABEL);
  const noise = totals.get(NOISE_LABEL);
  const evidence: EpsEvidence = {
    eps,
    robust: robustAfter(() => true),
    ensembleRobust: robustAfter((t) => t.role === 'ensemble'),
    ...(all.some((t) => t.iterative) ? { iterativeRobust: robustAfter((t) => t.role === 'ensemble' && t.oracle === 'gradient') } : {}),
    ...(single ? { singleStepRobust: robustAfter((t) => t === single) } : {}),
    ...(noise ? { noiseRobust: robustAfter((t) => t === noise) } : {}),
    ...(checks && blackBoxOnly !== undefined ? { blackBoxOnly } : {}),
    loss: all.filter((t) => t.iterative).map((t) => ({ label: t.label, flat: t.counters.flatLoss, measured: t.counters.lossMeasured })),
    zeroGradient: sum.zeroGradient,
    gradientMeasured: sum.gradientMeasured,
    maxNorm: all.reduce((m, t) => t.norms.reduce((a, v) => Math.max(a, v), m), 0),
  };
  return { rows, evidence };
}

/** The masking checks from what was measured (the reference runs' records included). */
function checksOf(records: readonly BatchRecord[], perEps: readonly EpsEvidence[], s: SummaryContext): Report['masking_checks'] {
  const unbounded = records.map((r) => r.unbounded).filter((u): u is NonNullable<typeof u> => u !== undefined);
  const counted = unbounded.reduce((c, u) => c.add(u), new StageCounters());
  const evidence: CheckEvidence = {
    n: s.labels.length,
    norm: s.threatModel.norm,
    perEps,
    ...(unbounded.length > 0
      ? { unbounded: { eps: unbounded[0]!.eps, attacked: counted.attacked, robust: counted.attacked - unbounded.reduce((b, u) => b + u.broken.length, 0) } }
      : {}),
    forwardDifference: Math.max(0, ...records.map((r) => r.forwardDifference)),
    nonDifferentiableOps: s.model.non_differentiable_ops,
    bpda: s.bpda || s.bpdaSurrogates.length > 0,
  };
  return maskingChecks(evidence);
}

/** The report's warnings: the attacks' (once per stage, ε and code), the notes, and what BPDA and EOT did. */
function warningsOf(warnings: Warnings, s: SummaryContext): Report['warnings'] {
  const out = [...warnings.values()].map((w) => ({ code: w.code, message: w.batches > 1 ? `${w.message} (in ${w.batches} batches)` : w.message }));
  for (const note of s.notes) out.push({ code: 'note', message: note });
  if (s.bpdaSurrogates.length > 0) {
    out.push({
      code: 'bpda',
      message: `gradients at non-differentiable ops come from differentiable surrogates (BPDA, Athalye et al. 2018): ${s.bpdaSurrogates.join(', ')}${s.bpda ? '; other such ops pass gradients straight through' : ''}`,
    });
  } else if (s.bpda) {
    out.push({ code: 'bpda', message: 'gradients pass straight through non-differentiable ops (BPDA with the identity, Athalye et al. 2018)' });
  }
  if (s.eotSamples > 1) {
    out.push({
      code: 'eot',
      message: `every gradient is the mean over ${s.eotSamples} passes of the model (EOT, Athalye et al. 2018); each pass counts as a query`,
    });
  }
  return out;
}

/** The report of the batch records `records` (in batch order). */
export function summarise(records: readonly BatchRecord[], s: SummaryContext): Report {
  const tm = s.threatModel;
  const n = s.labels.length;
  const correct = new Set<number>();
  for (const r of records) r.predictions.forEach((p, i) => p === s.labels[r.start + i] && correct.add(r.start + i));
  const attacks: AttackRecord[] = [];
  const robustPoints: { eps: number; accuracy: number }[] = [];
  const perEps: EpsEvidence[] = [];
  const warnings: Warnings = new Map();
  tm.eps.forEach((eps, k) => {
    const { rows, evidence } = summariseEps(eps, stageTotals(records, k, eps, s.iterativeLabels, warnings), correct, n, s.checks);
    attacks.push(...rows);
    robustPoints.push({ eps, accuracy: evidence.robust / n });
    perEps.push(evidence);
  });
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    gibbon_version: s.gibbonVersion,
    created: s.created,
    model: s.model,
    threat_model: threatModelRecord(tm),
    data: s.data,
    n,
    seed: tm.seed,
    clean_accuracy: correct.size / n,
    robust_accuracy: robustPoints,
    attacks,
    masking_checks: s.checks ? checksOf(records, perEps, s) : [],
    gallery: records.flatMap((r) => r.gallery),
    warnings: warningsOf(warnings, s),
    seconds: s.seconds ?? records.reduce((sum, r) => sum + r.seconds, 0),
    environment: s.environment,
    bounds: [tm.input.bounds[0], tm.input.bounds[1]],
  };
}
