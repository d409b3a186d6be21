/** Running the built CLI in end-to-end tests, and asserting on how it exits. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
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

/**
 * A test file's scratch folder, made now (named `prefix` + random) and removed after the file's
 * tests, and `gibbon ARGS` run in it.
 */
export function cliWorkspace(prefix: string): { readonly work: string; readonly gibbon: (...args: string[]) => Promise<Run> } {
  const work = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(work, { recursive: true, force: true }));
  return { work, gibbon: (...args) => runCli(work, ...args) };
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
