/**
 * The evaluation ran, but robust accuracy is below the `--fail-under` bar. Not a failure of the
 * command: main.ts prints the one-line message and exits with its own code (3), so CI can tell a
 * model that is not robust enough from a run that went wrong (1) or a wrong command line (2).
 */
export class BelowThresholdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BelowThresholdError';
  }
}
