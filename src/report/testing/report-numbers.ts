/** A report reduced to what must be reproducible: for tests that compare two runs (resume, seeds). */
import type { Report } from '../schema.js';

/** The numbers of a report: everything but times, dates and environment. */
export function reportNumbers(report: Report): unknown {
  return {
    clean: report.clean_accuracy,
    robust: report.robust_accuracy,
    attacks: report.attacks.map(({ seconds: _seconds, ...rest }) => rest),
    checks: report.masking_checks,
    gallery: report.gallery,
    warnings: report.warnings,
  };
}
