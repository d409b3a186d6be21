/**
 * `gibbon serve-playground [--port N] [--host ADDR]`: serves the built browser playground
 * (dist/web, from `npm run build:web`) with cross-origin isolation (wasm threads) and a strict
 * Content-Security-Policy, until interrupted (Ctrl-C).
 */
import { join } from 'node:path';
import { servePlayground } from '../../web/static-server.js';
import { packageRoot } from '../package-root.js';
import type { Terminal } from '../terminal.js';

export interface ServePlaygroundValues {
  readonly port: number;
  readonly host: string;
}

export async function run(values: ServePlaygroundValues, terminal: Terminal): Promise<void> {
  const server = await servePlayground(join(packageRoot(), 'dist', 'web'), { port: values.port, host: values.host });
  terminal.out(`gibbon playground at ${server.url} (models and images stay in the browser; Ctrl-C stops the server)`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
}
