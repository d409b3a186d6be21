/**
 * Where the CLI writes: results to stdout, notes and progress to stderr. Commands get a Terminal
 * instead of touching process streams, so they can be run and tested without a real terminal.
 */
export interface Terminal {
  /** Writes one or more lines of results to stdout. */
  out(text: string): void;
  /** Writes an informational line to stderr (never an error: errors are thrown). */
  note(text: string): void;
  /** The stream progress bars draw on, when stderr is an interactive terminal. */
  readonly progressStream: NodeJS.WriteStream | undefined;
}

export function processTerminal(): Terminal {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    note: (text) => process.stderr.write(`${text}\n`),
    progressStream: process.stderr.isTTY ? process.stderr : undefined,
  };
}
