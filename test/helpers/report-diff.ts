/** Differences between two report.json files, timings left out (seconds, created, environment): what sharded and in-process runs must agree on. */
import { readFileSync } from 'node:fs';

const TIMING = new Set(['seconds', 'created', 'environment']);

function walk(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length >= 20) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: ${a.length} items against ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`, out);
  } else if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => !TIMING.has(k)));
    for (const k of [...keys].sort()) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
  } else if (!Object.is(a, b)) {
    out.push(`${path}: ${JSON.stringify(a)} against ${JSON.stringify(b)}`);
  }
}

/** The paths where the two reports differ (empty: identical except timings). */
export function reportDifferences(fileA: string, fileB: string): string[] {
  const out: string[] = [];
  walk(JSON.parse(readFileSync(fileA, 'utf8')), JSON.parse(readFileSync(fileB, 'utf8')), 'report', out);
  return out;
}
