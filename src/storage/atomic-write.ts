/** Writing a file (a report, a checkpoint) so that a reader never sees half of it, even if the process is killed. */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { GibbonError } from '../errors.js';

export interface AtomicWriteOptions {
  /** Flush the temporary file to disk before the rename, so that the file also survives a crash of the machine. */
  readonly fsync?: boolean;
  /** What the file is, for the error: 'the checkpoint' gives "cannot write the checkpoint PATH: …". */
  readonly what?: string;
}

/** Writes `content` (text, or binary chunks in order) to `path` (creating its folder) through a temporary file `PATH.PID.tmp` and a rename. */
export function writeFileAtomically(path: string, content: string | readonly Uint8Array[], options: AtomicWriteOptions = {}): void {
  const chunks = typeof content === 'string' ? [Buffer.from(content)] : content;
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
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
    rmSync(temporary, { force: true });
    const what = options.what ? `${options.what} ` : '';
    throw new GibbonError('file_unwritable', `cannot write ${what}${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
}
