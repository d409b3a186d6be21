/** `gibbon eval --queue … --workers N`: N `gibbon worker` processes on this machine, stopped when the evaluation ends. */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { LocalWorkers } from '../evaluation/shard/coordinator.js';
import type { QueueAddress } from '../evaluation/shard/database.js';

/** Starts `count` worker processes on this machine (the URL goes by environment, not the command line). */
export function spawnLocalWorkers(o: { address: QueueAddress; count: number; threads: number }): LocalWorkers {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const children: { child: ChildProcess; exit?: number | null; lastLine: string }[] = [];
  for (let k = 0; k < o.count; k++) {
    const args = [main, 'worker', '--queue', 'env', '--queue-name', o.address.queue, '--queue-schema', o.address.schema];
    args.push('--threads', String(o.threads), '--name', `${hostname()}-local-${k + 1}`);
    const child = spawn(process.execPath, args, { env: { ...process.env, GIBBON_QUEUE_URL: o.address.url }, stdio: ['ignore', 'ignore', 'pipe'] });
    const entry: (typeof children)[number] = { child, lastLine: '' };
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      if (lines.length > 0) entry.lastLine = lines[lines.length - 1]!;
    });
    child.on('exit', (code) => (entry.exit = code));
    children.push(entry);
  }
  return {
    failure: () =>
      children.length > 0 && children.every((c) => c.exit !== undefined && c.exit !== 0)
        ? `every local worker stopped with an error; the last said: ${children[children.length - 1]!.lastLine.replace(/^✖\s*/, '')}`
        : undefined,
    stop: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exit !== undefined) return resolve();
              const kill = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
              c.child.once('exit', () => (clearTimeout(kill), resolve()));
              c.child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
