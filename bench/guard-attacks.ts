/**
 * `npm run guard-attacks -- [--sessions 100] [--benign 100] [--budget 100] [--within 50] [--fpr 0.001] [--json FILE]`
 * The stateful query-attack detector measured through the guard over HTTP (docs/guard.md): the
 * threshold is calibrated on benign streams of MNIST *training* images (20 clients × 2000 queries, the window) at
 * the per-query false-positive rate --fpr; then gibbon's own Square, HopSkipJump and NES attack
 * MNIST test images, one client per session, and benign clients send clean test images. Printed:
 * the share of attack sessions flagged within --within queries, the attacks' success within
 * --budget queries, and the benign false positives (per session of --within queries, and per query
 * over long sessions); then the same for an adaptive attacker who knows the detector: random
 * translations of each query (±3 px), or the session spread over 5 API keys.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadLabelledData } from '../src/data/datasets.js';
import { Credentials } from '../src/server/auth.js';
import { startGuard } from '../src/server/guard-service.js';
import { parsePolicy } from '../src/server/policy.js';
import { calibrateThreshold } from '../src/server/stateful-detector.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { ATTACKS, attackSession, benignSession, type Adaptation, type SessionSetup } from '../test/helpers/guard-sessions.js';
import { STANDARD } from '../test/helpers/guard.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100' },
    benign: { type: 'string', default: '100' },
    budget: { type: 'string', default: '100' },
    within: { type: 'string', default: '50' },
    fpr: { type: 'string', default: '0.001' },
    concurrency: { type: 'string', default: '4' },
    json: { type: 'string' },
    side: { type: 'string', default: '8' },
  },
});
const sessions = Number(values.sessions);
const benign = Number(values.benign);
const budget = Number(values.budget);
const within = Number(values.within);
const STATEFUL = { k: 20, window: 2000, encodingSide: Number(values.side), maxClients: 25_000 };
const PER = 784;

const rows = (d: { x: Float32Array }, start: number, n: number): Tensor => ({ data: d.x.slice(start * PER, (start + n) * PER), shape: [n, 1, 28, 28] });

const train = loadLabelledData({ name: 'mnist', split: 'train', limit: 40_000 });
const threshold = calibrateThreshold(
  Array.from({ length: 20 }, (_, i) => rows(train, i * 2000, 2000)),
  [1, 28, 28],
  STATEFUL,
  Number(values.fpr),
);
const test = loadLabelledData({ name: 'mnist', split: 'test' });

const CLIENTS = 20_000;
const keyOf = (i: number): string => `key-${i}-guard-attacks`;
const nameOf = (i: number): string => `client-${i}`;
const credentials = new Credentials(new Map(Array.from({ length: CLIENTS }, (_, i) => [nameOf(i), keyOf(i)])), 'admin-key-guard-attacks');
const guard = await startGuard({
  model: STANDARD,
  credentials,
  port: 0,
  db: 'sqlite::memory:',
  logger: false,
  threads: 1,
  policy: parsePolicy(
    {
      stateful: { k: STATEFUL.k, window: STATEFUL.window, encoding_side: STATEFUL.encodingSide, max_clients: STATEFUL.maxClients, threshold },
      max_batch: 1024,
    },
    'guard-attacks',
  ),
});
const setup: SessionSetup = { guard, keyOf, nameOf };
let nextClient = 0;
const started = performance.now();

async function pool<T>(count: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await run(i);
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
  return out;
}

const results: Record<string, unknown> = { threshold, fpr_target: Number(values.fpr), stateful: STATEFUL, budget, within, sessions };
const lines: string[] = [
  `threshold ${threshold.toFixed(4)} (per-query FPR ${values.fpr} on 20 × 2000 training images); k ${STATEFUL.k}, window ${STATEFUL.window}`,
];

// Benign: sessions of `within` clean test images, each its own client; and 5 long sessions of 1000.
const benignShort = await pool(benign, (i) => benignSession(setup, nextClient++, rows(test, (i * within) % 9000, within)));
const longs = await pool(5, (i) => benignSession(setup, nextClient++, rows(test, i * 1000 + 500, 1000)));
const flaggedSessions = benignShort.filter((s) => s.flags > 0).length;
const longFlags = longs.reduce((a, s) => a + s.flags, 0);
const longQueries = longs.reduce((a, s) => a + s.queries, 0);
results['benign'] = { sessions: benign, flagged_sessions: flaggedSessions, long_queries: longQueries, long_flags: longFlags };
lines.push(
  `benign: ${flaggedSessions}/${benign} sessions of ${within} clean test images flagged; ${longFlags}/${longQueries} queries flagged over 5 sessions of 1000`,
);

const variants: [string, Adaptation | undefined][] = [
  ['plain', undefined],
  ['adaptive: random shift ±3 px', { shift: 3 }],
  ['adaptive: 5 keys', { keys: 5 }],
];
for (const [label, adaptation] of variants) {
  for (const attack of ATTACKS) {
    const outs = await pool(sessions, async (i) => {
      const first = nextClient;
      nextClient += adaptation?.keys ?? 1;
      return attackSession(setup, attack, rows(test, i, 1), test.y.slice(i, i + 1), first, { budget, within, seed: i, adaptation });
    });
    const flagged = outs.filter((o) => o.flaggedWithin).length;
    const success = outs.filter((o) => o.success).length;
    const firsts = outs.filter((o) => o.firstFlag > 0).map((o) => o.firstFlag);
    const median = firsts.sort((a, b) => a - b)[Math.floor(firsts.length / 2)] ?? 0;
    results[`${label}:${attack}`] = { flagged, success, median_first_flag: median };
    lines.push(
      `${label.padEnd(30)} ${attack.padEnd(7)} flagged within ${within}: ${flagged}/${sessions}  success within ${budget} queries: ${success}/${sessions}  median first flag: query ${median}`,
    );
  }
}
lines.push(`${((performance.now() - started) / 1000).toFixed(0)} s (under load)`);
console.log(lines.join('\n'));
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
await guard.close();
