/**
 * The playground's static server (`gibbon serve-playground`; Node only, never bundled): serves the
 * built playground folder read-only, GET and HEAD only, with the headers that make the page
 * cross-origin isolated (COOP/COEP, so onnxruntime-web may use wasm threads) and a
 * Content-Security-Policy that lets the page talk to nothing but this origin. Paths are confined
 * to the folder (no `..`, no symlinks out of it), file names are the built ones only.
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, sep } from 'node:path';
import { GibbonError } from '../errors.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.npy': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page's policy: scripts, workers, wasm and fetches from this origin only (wasm compilation
 * needs 'wasm-unsafe-eval'); images from data: and blob: URLs (the chart, the gallery); inline
 * style attributes (the report's gallery markup); no frames, forms to nowhere, no base changes.
 */
export const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "frame-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export const PLAYGROUND_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': PLAYGROUND_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
});

export interface PlaygroundServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `root` (a built playground, e.g. dist/web) on host:port (port 0: any free port). */
export async function servePlayground(root: string, options: { port?: number; host?: string } = {}): Promise<PlaygroundServer> {
  if (!existsSync(join(root, 'index.html'))) {
    throw new GibbonError('file_not_found', `no playground build in ${root}: run \`npm run build:web\` first`, { path: root });
  }
  const base = realpathSync(root);
  const server: Server = createServer((req, res) => {
    const send = (status: number, text: string): void => {
      res.writeHead(status, { ...PLAYGROUND_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'bad path');
    }
    if (path.endsWith('/')) path += 'index.html';
    const type = TYPES[extname(path)];
    if (!type || path.includes('\0') || path.split('/').some((p) => p === '..' || p.startsWith('.'))) return send(404, 'not found');
    const file = join(base, ...path.split('/').filter(Boolean));
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      return send(404, 'not found');
    }
    if (!real.startsWith(base + sep) || !statSync(real).isFile()) return send(404, 'not found');
    res.writeHead(200, { ...PLAYGROUND_HEADERS, 'Content-Type': type, 'Content-Length': statSync(real).size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(real).pipe(res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new GibbonError('invalid_option', `cannot listen on ${host}:${options.port ?? 0}: ${e.code ?? e.message}`, { option: 'port' }, { cause: e })),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
