/**
 * Warnings and notes as data. Library code never prints: it returns Diagnostics on its results,
 * and only cli/ and server/ render them.
 */
export interface Diagnostic {
  /** Stable machine-readable id, e.g. 'claimed-success-rejected'. */
  readonly code: string;
  readonly severity: 'info' | 'warning';
  /** What was found and what to try. */
  readonly message: string;
}
