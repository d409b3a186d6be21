/**
 * One run per output: a lock file that a long run (evaluation, certification, detection, training)
 * holds on what it writes, so that a second run into the same folder is refused instead of both
 * "succeeding" while one silently overwrites the other's checkpoint and report.
 *
 * The lock is a small JSON file ({ pid, started, host }) created with O_EXCL, so exactly one of two
 * racing runs creates it. A lock whose process is gone (killed with -9, the machine rebooted) is
 * stale and is taken over: on Linux the process's start time is recorded too, so a recycled PID
 * does not keep a dead run's lock alive. A lock from another host cannot be checked and is never
 * taken over. Taking over renames the stale file aside first and checks that it renamed the stale
 * lock it read, so two runs that both find the same stale lock cannot both end up holding it.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';

/** The lock file inside a locked output folder. */
export const LOCK_FILE = '.gibbon.lock';

/** Who holds a lock. */
export interface LockHolder {
  readonly pid: number;
  /** Start time of the process (Linux: clock ticks after boot, /proc/PID/stat field 22); absent elsewhere. */
  readonly started?: number;
  readonly host: string;
  /** When the lock was taken (ISO 8601). */
  readonly since: string;
}

export interface OutputLock {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file if it is still this lock (idempotent). */
  release(): void;
}

/** A lock file that cannot be read yet (its creator is between creating and writing it) is young; an old one is debris. */
const UNREADABLE_GRACE_MS = 10_000;

/** The start time of process `pid` from /proc (Linux), or undefined where there is none. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const value = Number(fields[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `holder` still runs on this host (true when it cannot be told: another host, no permission). */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (holder.started !== undefined) {
    const started = processStartTime(holder.pid);
    if (started !== undefined && started !== holder.started) return false;
  }
  return true;
}

/** Whether process `pid` on this host runs (for temporaries named after their writer's PID). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.since === 'string') return value as LockHolder;
  } catch {
    // Missing, empty or damaged: the caller decides by the file's age.
  }
  return undefined;
}

function sameHolder(a: LockHolder | undefined, b: LockHolder | undefined): boolean {
  return a !== undefined && b !== undefined && a.pid === b.pid && a.started === b.started && a.host === b.host && a.since === b.since;
}

function ageMs(path: string): number | undefined {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Creates `path` with O_EXCL holding `holder`; false if it exists. */
function create(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, JSON.stringify(holder));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes the lock file `path` for this process. `what` names the output in the error (e.g.
 * "--out results"). Throws a GibbonError naming the running process when another live run holds it.
 */
export function acquireLock(path: string, what: { readonly target: string; readonly option?: string }): OutputLock {
  const holder: LockHolder = {
    pid: process.pid,
    ...(processStartTime(process.pid) !== undefined ? { started: processStartTime(process.pid)! } : {}),
    host: hostname(),
    since: new Date().toISOString(),
  };
  const fail = (message: string, cause?: unknown): GibbonError =>
    new GibbonError(
      'file_unwritable',
      message,
      { path: what.target, ...(what.option ? { option: what.option } : {}) },
      cause === undefined ? undefined : { cause },
    );
  const named = `${what.option ? `${what.option} ` : ''}${what.target}`;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      if (create(path, holder)) {
        return {
          path,
          release: () => {
            if (sameHolder(readHolder(path), holder)) unlinkSync(path);
          },
        };
      }
    } catch (e) {
      throw fail(`cannot lock ${named}: ${(e as Error).message}`, e);
    }
    const current = readHolder(path);
    if (current === undefined) {
      const age = ageMs(path);
      if (age === undefined) continue; // removed meanwhile: try again
      if (age < UNREADABLE_GRACE_MS)
        throw fail(`${named} is being used by another gibbon run (its lock ${path} is being written); wait for it to finish, or choose another output`);
    } else if (holderAlive(current)) {
      const where = current.host === hostname() ? `PID ${current.pid}` : `PID ${current.pid} on ${current.host}`;
      throw fail(
        `${named} is in use by another gibbon run (${where}, since ${current.since}); wait for it to finish or choose another output. If no such run exists, delete ${path}`,
      );
    }
    // Stale: move it aside, and delete it only if what was moved is the stale lock that was read.
    const aside = `${path}.stale.${process.pid}`;
    try {
      renameSync(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw fail(`cannot lock ${named}: ${(e as Error).message}`, e);
    }
    const moved = readHolder(aside);
    if (sameHolder(moved, current) || (moved === undefined && current === undefined)) {
      unlinkSync(aside);
    } else {
      // Another run replaced the stale lock with its own between the read and the rename: put it back.
      try {
        linkSync(aside, path);
      } catch {
        // A third run locked meanwhile; the next attempt sees it.
      }
      unlinkSync(aside);
    }
  }
  throw fail(`cannot lock ${named}: the lock ${path} keeps changing; is another gibbon run starting there?`);
}

/**
 * Whether the lock file `path` is held by this very process (same PID, start time and host): a
 * caller that runs several commands in one process (tests, a library user) may take it up again.
 */
export function heldByThisProcess(path: string): boolean {
  const holder = readHolder(path);
  return holder !== undefined && holder.pid === process.pid && holder.host === hostname() && holder.started === processStartTime(process.pid);
}

/** Locks the output folder `dir` (which must exist) through `dir/.gibbon.lock`. */
export function lockOutputFolder(dir: string, option?: string): OutputLock {
  return acquireLock(join(dir, LOCK_FILE), { target: dir, ...(option ? { option } : {}) });
}
