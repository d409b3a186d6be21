/** Writing a report file so that a reader never sees half of it, even if the process is killed. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GibbonError } from '../errors.js';

/** Writes `text` to `path` (creating its folder) through a temporary file and a rename. */
export function writeFileAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new GibbonError('file_unwritable', `cannot write ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
}
