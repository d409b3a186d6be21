/**
 * Hostile HTTP endpoints for tests: a node:http server on 127.0.0.1 (a random free port) whose
 * answers a test scripts freely — redirects to another origin, bodies that never end, trickle, are
 * hundreds of megabytes long, or are nested 10⁵ levels deep. Every request is recorded (path,
 * method, headers, body), so a test can assert what reached which server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface HostileServer {
  /** http://127.0.0.1:PORT (no path). */
  readonly origin: string;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts a server whose every request goes to `handler` (after its body has been read). */
export async function startHostileServer(handler: Handler, host = '127.0.0.1'): Promise<HostileServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const seen: SeenRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: await readBody(req) };
      requests.push(seen);
      await handler(seen, res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes `chunk` again and again (honouring back-pressure) until the client goes away or `totalBytes` are sent. */
export function stream(res: ServerResponse, chunk: string, totalBytes = Infinity, intervalMs = 0): void {
  let sent = 0;
  const more = (): void => {
    while (!res.destroyed && sent < totalBytes) {
      sent += chunk.length;
      const ok = res.write(chunk);
      if (intervalMs > 0) {
        setTimeout(more, intervalMs);
        return;
      }
      if (!ok) {
        res.once('drain', more);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  more();
}

/** An answer that is `depth` nested arrays. */
export function deeplyNested(depth: number): string {
  return `{"outputs": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
}
