/**
 * `gibbon guard serve MODEL [--detector D.json …] [--policy P.yaml] [--db URL] [--host] [--port]`:
 * the guard service (src/server/), until SIGINT or SIGTERM. API keys and the admin key come from
 * the environment (GIBBON_GUARD_KEYS, GIBBON_GUARD_ADMIN_KEY), never from the command line.
 * `gibbon guard export --db URL --out DIR`: the reviewed items as X.npy and Y.npy for gibbon train.
 */
import { join } from 'node:path';
import { Credentials } from '../../server/auth.js';
import { startGuard } from '../../server/guard-service.js';
import { readPolicyFile } from '../../server/policy.js';
import { openReviewStore } from '../../server/open-review-store.js';
import { trainingSet } from '../../server/training-set.js';
import { writeFileAtomically } from '../../storage/atomic-write.js';
import { prepareOutputFolder } from '../files.js';
import { UsageError } from '../parse-args.js';
import type { Terminal } from '../terminal.js';

export interface GuardValues {
  readonly action: string;
  readonly model?: string;
  readonly detector?: readonly string[];
  readonly policy?: string;
  readonly db: string;
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly quiet?: boolean;
  readonly out?: string;
  readonly threads?: number;
}

async function serve(values: GuardValues, terminal: Terminal): Promise<void> {
  if (!values.model) throw new UsageError('guard serve needs a MODEL (an ONNX classifier)', 'guard');
  const credentials = Credentials.fromEnvironment();
  const policy = values.policy ? readPolicyFile(values.policy) : undefined;
  const guard = await startGuard({
    model: values.model,
    detectors: values.detector ?? [],
    policy,
    db: values.db,
    credentials,
    host: values.host,
    port: values.port,
    bodyLimit: values.maxBodyBytes,
    logger: !values.quiet,
    threads: values.threads,
  });
  terminal.note(
    `gibbon guard: ${values.model} with ${guard.model.detectors.map((d) => d.name).join(', ') || 'no detector'} on ${guard.url}; review queue ${guard.store.description}`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await guard.close();
}

async function exportSet(values: GuardValues, terminal: Terminal): Promise<void> {
  if (!values.out) throw new UsageError('guard export needs --out DIR', 'guard');
  prepareOutputFolder(values.out, '--out');
  const store = await openReviewStore(values.db);
  try {
    const items = await store.reviewed();
    if (items.length === 0) {
      terminal.out('no reviewed items; nothing exported');
      return;
    }
    const set = trainingSet(items, items[0]!.shape);
    writeFileAtomically(join(values.out, 'X.npy'), [set.x]);
    writeFileAtomically(join(values.out, 'Y.npy'), [set.y]);
    terminal.out(`${set.count} reviewed items → ${join(values.out, 'X.npy')}, ${join(values.out, 'Y.npy')} (${set.skipped} attacks without a class left out)`);
  } finally {
    await store.close();
  }
}

export async function run(values: GuardValues, terminal: Terminal): Promise<void> {
  if (values.action === 'serve') return serve(values, terminal);
  if (values.action === 'export') return exportSet(values, terminal);
  throw new UsageError(
    `unknown action '${values.action}'; give 'serve' or 'export' (gibbon guard serve MODEL, gibbon guard export --db URL --out DIR)`,
    'guard',
  );
}
