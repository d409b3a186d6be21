/** One hostile case: a name, its group, and a run that sets it up, runs the CLI and asserts. */
import assert from 'node:assert/strict';
import { runHostile, type HostileRun } from './harness.js';
import type { Workspace } from './workspace.js';

export interface HostileContext {
  readonly ws: Workspace;
  /** Runs `gibbon ARGS` in the model folder with the canary in its environment; checks no output leaks it. */
  gibbon(args: readonly string[], env?: Record<string, string>): Promise<HostileRun>;
  /** Base URL of the hostile HTTP server (http://127.0.0.1:PORT). */
  readonly server: () => string;
  /** A finished evaluation's output folder to forge checkpoints from. */
  readonly evaluated: () => string;
}

export interface HostileCase {
  readonly group: string;
  readonly name: string;
  run(ctx: HostileContext): Promise<void>;
}

export function contextFor(ws: Workspace, server: () => string, evaluated: () => string): HostileContext {
  return {
    ws,
    server,
    evaluated,
    async gibbon(args, env = {}) {
      const r = await runHostile(args, { cwd: ws.models, env: { [ws.canaryName]: ws.canary, ...env } });
      assert.ok(!r.stdout.includes(ws.canary) && !r.stderr.includes(ws.canary), `the environment canary leaked into the output of gibbon ${args.join(' ')}`);
      return r;
    },
  };
}

/** A regular expression matching `text` literally. */
export function literal(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
}

/** A seeded generator (mulberry32) for the generated mutations; the same seed makes the same cases. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
