/**
 * What the guard's end-to-end tests share: a combined detector fitted (once per test file, on a
 * small slice of MNIST) for models/mnist-standard.onnx, API keys and an admin key, a guard started
 * in-process on 127.0.0.1 (any free port) with a review database in a temporary folder, MNIST
 * test images, and the PostgreSQL URL the tests use.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { loadLabelledData } from '../../src/data/datasets.js';
import { Credentials } from '../../src/server/auth.js';
import { startGuard, type GuardService, type GuardServiceOptions } from '../../src/server/guard-service.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { ROOT, runCli } from './cli.js';

export const STANDARD = join(ROOT, 'models', 'mnist-standard.onnx');
export const KEYS = new Map([
  ['alice', 'alice-key-0001'],
  ['bob', 'bob-key-000002'],
]);
export const ADMIN_KEY = 'admin-key-000003';
export const credentials = (): Credentials => new Credentials(KEYS, ADMIN_KEY);
export const GUARD_ENV = { GIBBON_GUARD_KEYS: [...KEYS].map(([c, k]) => `${c}:${k}`).join(','), GIBBON_GUARD_ADMIN_KEY: ADMIN_KEY };

/** The URL of the tests' PostgreSQL database (tools/guard/services.sh creates it). */
export const POSTGRES_URL = process.env['GIBBON_TEST_POSTGRES_URL'] ?? 'postgres://gibbon:gibbon@127.0.0.1:5432/gibbon_test';

/**
 * A PostgreSQL URL whose tables live in a fresh schema of the test database (dropped after the
 * test); fails with what to do when the server cannot be reached. Call it inside a test.
 */
export async function postgresSchemaUrl(prefix: string): Promise<string> {
  const schema = `${prefix}_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(
      `PostgreSQL is not reachable at ${POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')} (${(e as Error).message}); run tools/guard/services.sh (as root) or set GIBBON_TEST_POSTGRES_URL`,
    );
  }
  await admin.query(`CREATE SCHEMA ${schema}`);
  after(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** A scratch folder, removed after the file's tests. */
export function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Fits a detector of `kind` for mnist-standard.onnx into `dir` (5% FPR on 500 held-out images). */
export async function fitDetector(dir: string, kind = 'combined'): Promise<string> {
  const out = join(dir, `${kind}.json`);
  const r = await runCli(dir, 'detect', 'fit', STANDARD, '--detector', kind, '--fit-n', '1000', '--calibration-n', '500', '--out', out, '--threads', '1');
  if (r.code !== 0) throw new Error(`detect fit failed: ${r.stderr}`);
  return out;
}

/** A guard on 127.0.0.1 (free port); the caller closes it (register `after` at the top level of the file). */
export function startTestGuard(options: Partial<GuardServiceOptions> & { readonly db: string }): Promise<GuardService> {
  return startGuard({ model: STANDARD, credentials: credentials(), port: 0, logger: false, threads: 1, ...options });
}

/** The first n MNIST test images (N, 1, 28, 28) and their labels. */
export function mnistTest(n: number, offset = 0): { x: Tensor; y: Int32Array } {
  const d = loadLabelledData({ name: 'mnist', split: 'test', limit: offset + n });
  const per = 28 * 28;
  return { x: { data: d.x.slice(offset * per, (offset + n) * per), shape: [n, 1, 28, 28] }, y: d.y.slice(offset, offset + n) };
}

/** One example as the nested lists of a JSON body. */
export function nested(x: Tensor, row: number): number[][][] {
  const per = 28 * 28;
  const img = Array.from(x.data.subarray(row * per, (row + 1) * per));
  return [Array.from({ length: 28 }, (_, i) => img.slice(i * 28, (i + 1) * 28))];
}
