/**
 * The hostile-input harness: runs `gibbon ARGS` on one hostile input and holds it to the standard of
 * docs/security.md — it ends within a time limit (10 s by default), resident memory stays under a cap
 * (1 GiB by default, read from /proc while it runs), and it either succeeds or fails with exactly one
 * line on stderr that names the file, node or option, and a non-zero exit code. Never an "unexpected
 * error", a stack trace, a hang or unbounded memory.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from '../helpers/cli.js';

export interface HostileRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak resident set (VmHWM) in bytes, as last read from /proc while the process ran. */
  readonly peakRss: number;
  readonly elapsedMs: number;
  readonly timedOut: boolean;
}

export interface HostileOptions {
  readonly cwd: string;
  readonly timeoutMs?: number;
  readonly env?: Record<string, string>;
}

const MIB = 1024 * 1024;
export const RSS_CAP = 1024 * MIB;
export const TIME_LIMIT_MS = 10_000;

function readPeakRss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs the built CLI with `args`; kills it at the time limit (reported as `timedOut`). */
export function runHostile(args: readonly string[], opts: HostileOptions): Promise<HostileRun> {
  const timeoutMs = opts.timeoutMs ?? TIME_LIMIT_MS;
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, GIBBON_DEBUG: '', NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peakRss = 0;
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 1 << 20) stderr += d;
    });
    const poll = setInterval(() => {
      if (child.pid !== undefined) peakRss = Math.max(peakRss, readPeakRss(child.pid));
      if (peakRss > RSS_CAP * 1.5) child.kill('SIGKILL');
    }, 25);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, peakRss, elapsedMs: Date.now() - started, timedOut });
    });
  });
}

function assertBounded(r: HostileRun, what: string): void {
  assert.ok(!r.timedOut, `${what}: did not end within the time limit (${r.elapsedMs} ms)`);
  assert.ok(r.peakRss < RSS_CAP, `${what}: resident memory reached ${(r.peakRss / MIB).toFixed(0)} MiB (cap ${RSS_CAP / MIB} MiB)`);
}

/**
 * The run failed cleanly: bounded, a non-zero exit, exactly one `✖` line on stderr, no "unexpected
 * error", and the line matches `pattern` (which should name the file, node or option).
 */
export function assertCleanFailure(r: HostileRun, pattern: RegExp, what = 'hostile case'): void {
  assertBounded(r, what);
  assert.ok(r.code !== null && r.code !== 0, `${what}: expected a non-zero exit, got ${r.code ?? r.signal}; stdout: ${r.stdout.slice(0, 400)}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim().length > 0);
  assert.equal(lines.length, 1, `${what}: stderr should be one line, got:\n${r.stderr.slice(0, 2000)}`);
  assert.match(lines[0]!, /^✖ /, `${what}: ${lines[0]}`);
  assert.doesNotMatch(lines[0]!, /unexpected error/, `${what}: ${lines[0]}`);
  assert.match(lines[0]!, pattern, `${what}: ${lines[0]}`);
}

/** The run succeeded: bounded, exit 0. Check the output yourself. */
export function assertCleanSuccess(r: HostileRun, what = 'hostile case'): void {
  assertBounded(r, what);
  assert.equal(r.code, 0, `${what}: exit ${r.code ?? r.signal}; stderr: ${r.stderr.slice(0, 2000)}`);
}

/** Either outcome is acceptable for a fuzz-like case, as long as it is clean and bounded. */
export function assertCleanOutcome(r: HostileRun, what = 'hostile case'): void {
  if (r.code === 0) assertCleanSuccess(r, what);
  else assertCleanFailure(r, /./, what);
}
