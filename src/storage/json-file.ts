/** Reading a JSON file whose text may not be JSON (a checkpoint, a report, a file someone edited). */
import { readFileSync } from 'node:fs';
import type { GibbonError } from '../errors.js';

/** The value in the JSON file at `path`; text that does not parse is refused with the error `invalid` makes of the parser's reason. */
export function readJsonFile(path: string, invalid: (reason: string, cause: unknown) => GibbonError): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid((e as Error).message, e);
  }
}
