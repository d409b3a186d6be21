/** Sharded-evaluation tests: a fresh schema per test file in the tests' PostgreSQL, worker processes, and the database's view of an evaluation. */
import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import pg from 'pg';
import { CLI } from './cli.js';
import { POSTGRES_URL } from './guard.js';

export { POSTGRES_URL };

/** A schema name of its own for this test file; its tables (and pg-boss's `<schema>_boss`) are dropped afterwards. */
export function shardSchema(prefix: string): string {
  const schema = `${prefix}_${process.pid}_${Date.now() % 1e8}`;
  after(async () => {
    const admin = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema}_boss CASCADE`);
    await admin.end();
  });
  return schema;
}

/** Runs a query against the tests' database. */
export async function query<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** A `gibbon ARGS` process in `cwd`, with its output collected. */
export interface Proc {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function start(cwd: string, args: readonly string[], env: Record<string, string> = {}, command: readonly string[] = []): Proc {
  const argv = command.length > 0 ? [...command.slice(1), process.execPath, CLI, ...args] : [CLI, ...args];
  const child = spawn(command[0] ?? process.execPath, argv, { cwd, env: { ...process.env, GIBBON_DEBUG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Worker args for the test schema. */
export function workerArgs(schema: string, name: string, url = POSTGRES_URL): string[] {
  return ['worker', '--queue', url, '--queue-schema', schema, '--threads', '1', '--name', name];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
