#!/usr/bin/env node
/**
 * Runs the compiled tests with node's test runner and ends with one plain summary line that CI can
 * read: `N passed, N failed`. Node 20 does not expand globs, so the test files are found here:
 * every dist/**\/*.test.js under dist/src and dist/test whose TypeScript source still exists (a
 * deleted test's stale build output is not run). Arguments, if any, replace the default folders
 * (files or folders, in dist/). Output: the spec reporter on stdout; a TAP copy is parsed for the
 * counts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const roots = process.argv.length > 2 ? process.argv.slice(2) : [join(root, 'dist', 'src'), join(root, 'dist', 'test')];

function testFiles(path) {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((e) => {
    const full = join(path, e.name);
    if (e.isDirectory()) return testFiles(full);
    return e.name.endsWith('.test.js') ? [full] : [];
  });
}

const hasSource = (file) => {
  const rel = relative(join(root, 'dist'), file);
  return rel.startsWith('..') || existsSync(join(root, rel.replace(/\.js$/, '.ts')));
};
const files = roots.flatMap(testFiles).filter(hasSource).sort();
if (files.length === 0) {
  console.log('no test files found (run `npm run build` first)');
  console.log('0 passed, 0 failed');
  process.exit(1);
}

const scratch = mkdtempSync(join(tmpdir(), 'gibbon-tests-'));
const tap = join(scratch, 'results.tap');
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { stdio: 'inherit', cwd: root },
);

const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
rmSync(scratch, { recursive: true, force: true });
// The runner's own totals are the last '# name N' lines of the TAP stream.
const count = (name) => {
  const all = [...text.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))];
  return all.length ? Number(all[all.length - 1][1]) : 0;
};
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
if (skipped > 0) console.log(`${skipped} skipped`);
const crashed = result.status !== 0 && failed === 0;
console.log(`${passed} passed, ${failed + (crashed ? 1 : 0)} failed`);
process.exit(result.status ?? 1);
