/**
 * A probe run as report.json (format `gibbon-probe-report`, version 1; docs/probes.md): the target,
 * the settings, per family the success rate with its bootstrap 95% interval, counts and verdict,
 * the overall rate, and every attempt with its transcript. A pure function of the run's result
 * (probe-report-files.ts writes it).
 */
import type { RateInterval } from '../probes/bootstrap.js';
import type { ProbeRunResult } from '../probes/runner.js';

export const PROBE_REPORT_FORMAT = 'gibbon-probe-report';
export const PROBE_REPORT_VERSION = 1;

export interface ProbeReportRate {
  readonly rate: number;
  readonly ci95: readonly [number, number];
  readonly n: number;
  readonly successes: number;
}

export interface ProbeReport {
  readonly format: typeof PROBE_REPORT_FORMAT;
  readonly version: typeof PROBE_REPORT_VERSION;
  readonly gibbon_version: string;
  readonly created: string;
  readonly target: string;
  readonly probe_file: string;
  readonly seed: number;
  readonly repetitions: number;
  readonly concurrency: number;
  readonly request_budget: number | null;
  readonly calls: number;
  readonly requests: number;
  readonly seconds: number;
  readonly overall: ProbeReportRate;
  readonly families: readonly {
    readonly name: string;
    readonly description: string;
    readonly control: boolean;
    readonly verdict: 'succeeds' | 'fails' | 'undecided';
    readonly success_rate: ProbeReportRate;
    readonly counts: { readonly success: number; readonly failure: number; readonly errored: number; readonly skipped: number };
  }[];
  readonly attempts: readonly {
    readonly family: string;
    readonly probe: string;
    readonly repetition: number;
    readonly seed: number;
    readonly status: 'success' | 'failure' | 'errored' | 'skipped';
    readonly detectors_fired: readonly string[];
    readonly error?: string;
    readonly transcript: readonly {
      readonly role: string;
      readonly content: string;
      readonly tool_calls?: readonly { readonly name: string; readonly arguments: string }[];
    }[];
  }[];
}

const rate = (r: RateInterval): ProbeReportRate => ({ rate: r.rate, ci95: [r.low, r.high], n: r.n, successes: r.successes });

export function probeReport(result: ProbeRunResult, meta: { gibbonVersion: string; probeFile: string; concurrency: number; created?: Date }): ProbeReport {
  return {
    format: PROBE_REPORT_FORMAT,
    version: PROBE_REPORT_VERSION,
    gibbon_version: meta.gibbonVersion,
    created: (meta.created ?? new Date()).toISOString(),
    target: result.target,
    probe_file: meta.probeFile,
    seed: result.seed,
    repetitions: result.repetitions,
    concurrency: meta.concurrency,
    request_budget: result.budget ?? null,
    calls: result.calls,
    requests: result.requests,
    seconds: result.seconds,
    overall: rate(result.overall),
    families: result.families.map((f) => ({
      name: f.name,
      description: f.description,
      control: f.control,
      verdict: f.verdict,
      success_rate: rate(f.rate),
      counts: { ...f.counts },
    })),
    attempts: result.attempts.map((a) => ({
      family: a.family,
      probe: a.probe,
      repetition: a.repetition,
      seed: a.seed,
      status: a.status,
      detectors_fired: a.fired,
      ...(a.error !== undefined ? { error: a.error } : {}),
      transcript: a.transcript.map((m) => ({
        role: m.role,
        content: m.content,
        ...(m.toolCalls?.length ? { tool_calls: m.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })) } : {}),
      })),
    })),
  };
}
