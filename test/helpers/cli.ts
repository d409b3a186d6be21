/** Running the built CLI in end-to-end tests, and asserting on how it exits. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `gibbon ARGS` in `cwd` (stack traces off, so errors are one line). */
export function runCli(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, GIBBON_DEBUG: '' }, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function assertOk(r: Run): void {
  assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.stderr}`);
}

/** A failed run: the exit code, exactly one line on stderr, and a message matching `pattern`. */
export function assertFails(r: Run, pattern: RegExp, code = 1): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `stderr should be one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^✖ /);
  assert.match(lines[0]!, pattern);
}
