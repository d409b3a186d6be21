/**
 * A progress bar on stderr for long runs, drawn only when stderr is an interactive terminal (never
 * in pipes, logs or CI). cli-progress is loaded only when a bar is drawn.
 */
import type { Terminal } from './terminal.js';

export interface Progress {
  /** Sets the amount done so far. */
  update(done: number): void;
  stop(): void;
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined };

/** A bar for `total` units of work, or a silent stand-in when the run is short or stderr is not a TTY. */
export async function startProgress(terminal: Terminal, label: string, total: number, minimumTotal = 1): Promise<Progress> {
  const stream = terminal.progressStream;
  if (!stream || total < minimumTotal) return SILENT;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} {bar} {value}/{total} · {duration_formatted} · ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
