/** Writes a probe run's report.json and report.html into its output folder, each atomically. */
import { join } from 'node:path';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { renderProbeReportHtml } from './probe-html.js';
import type { ProbeReport } from './probe-report.js';

export const PROBE_REPORT_JSON = 'report.json';
export const PROBE_REPORT_HTML = 'report.html';

/** Writes report.json and report.html into `dir` (atomically); returns their paths. */
export function writeProbeReport(dir: string, report: ProbeReport): { json: string; html: string } {
  const json = join(dir, PROBE_REPORT_JSON);
  const page = join(dir, PROBE_REPORT_HTML);
  writeFileAtomically(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomically(page, renderProbeReportHtml(report));
  return { json, html: page };
}
