/** The installed gibbon package's folder (for the bundled model and the version), found from this file, not the cwd. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GibbonError } from '../errors.js';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'gibbon') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new GibbonError('internal', `cannot find gibbon's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The model the demo uses when none is given. */
export function defaultModelPath(): string {
  return join(packageRoot(), 'models', 'mnist-standard.onnx');
}
