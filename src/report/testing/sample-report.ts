/** The sample report (test/fixtures/report/sample-report.json) for report tests. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../schema.js';

/** The repository root, found from dist/src/report/testing or src/report/testing. */
export const REPOSITORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));

export const SAMPLE_REPORT_PATH = join(REPOSITORY_ROOT, 'test', 'fixtures', 'report', 'sample-report.json');

/** A fresh, mutable copy of the sample report. */
export function sampleReport(): Report {
  return JSON.parse(readFileSync(SAMPLE_REPORT_PATH, 'utf8')) as Report;
}
