/** Writing a file (a report, a checkpoint) so that a reader never sees half of it, even if the process is killed. */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GibbonError } from '../errors.js';
import { pidAlive } from './output-lock.js';

export interface AtomicWriteOptions {
  /** Flush the temporary file to disk before the rename, so that the file also survives a crash of the machine. */
  readonly fsync?: boolean;
  /** What the file is, for the error: 'the checkpoint' gives "cannot write the checkpoint PATH: …". */
  readonly what?: string;
  /** Create the file's folder when it is missing (default true); false: a missing folder is an error, as for a plain write. */
  readonly createFolder?: boolean;
}

/** Writes `content` (text, or binary chunks in order) to `path` (creating its folder) through a temporary file `PATH.PID.tmp` and a rename. */
export function writeFileAtomically(path: string, content: string | readonly Uint8Array[], options: AtomicWriteOptions = {}): void {
  const chunks = typeof content === 'string' ? [Buffer.from(content)] : content;
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    if (options.createFolder !== false) mkdirSync(dirname(path), { recursive: true });
    if (options.fsync) {
      const fd = openSync(temporary, 'w');
      try {
        for (const chunk of chunks) writeSync(fd, chunk);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else {
      writeFileSync(temporary, Buffer.concat(chunks));
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Not ours to remove (e.g. a folder of that name): the original error says what went wrong.
    }
    const what = options.what ? `${options.what} ` : '';
    throw new GibbonError('file_unwritable', `cannot write ${what}${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
}

/**
 * Removes the temporaries (`NAME.PID.tmp`, for each of `names`) that writers killed mid-write left
 * in `dir`. A temporary whose PID still runs belongs to a write in progress (another run, or one
 * not using the output lock) and is left alone.
 */
export function removeDeadTemporaries(dir: string, names: readonly string[]): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  const wanted = new Set(names.map((n) => basename(n)));
  for (const entry of readdirSync(dir)) {
    const m = /^(.+)\.(\d+)\.tmp$/.exec(entry);
    if (!m || !wanted.has(m[1]!) || pidAlive(Number(m[2]))) continue;
    rmSync(join(dir, entry), { force: true });
    removed.push(entry);
  }
  return removed;
}
