/** `gibbon simulator [--defense …] [--guard FILE] [--port N]`: the assistant simulator as an OpenAI-compatible endpoint, until interrupted. */
import { serveSimulator } from '../../server/simulator-app.js';
import { buildSimulator } from '../probe-simulator.js';
import type { Terminal } from '../terminal.js';

export interface SimulatorValues {
  readonly defense?: string;
  readonly guard?: string;
  readonly seed?: number;
  readonly canary?: string;
  readonly host?: string;
  readonly port?: number;
}

export async function run(values: SimulatorValues, terminal: Terminal): Promise<void> {
  const built = await buildSimulator(values);
  const served = await serveSimulator(built.simulator, { host: values.host ?? '127.0.0.1', port: values.port ?? 8400 });
  const s = built.simulator;
  terminal.out(
    `${s.name} at ${served.url}\ncanary: ${s.canary} · tools: ${s.tools.map((t) => `${t.name}${t.forbidden ? ' (forbidden)' : ''}`).join(', ')}${built.guardPath ? ` · guard: ${built.guardPath}` : ''}\n` +
      `try: gibbon probe --target ${served.url} --canary ${s.canary}`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await served.close();
  await built.dispose();
}
