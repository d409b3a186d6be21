import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { servePlayground, type PlaygroundServer } from './static-server.js';

const work = mkdtempSync(join(tmpdir(), 'gibbon-static-'));
const root = join(work, 'web');
let server: PlaygroundServer;

before(async () => {
  mkdirSync(join(root, 'samples'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(root, 'samples', 'x.npy'), 'npy');
  writeFileSync(join(root, '.secret.js'), 'hidden');
  writeFileSync(join(work, 'outside.js'), 'outside');
  symlinkSync(join(work, 'outside.js'), join(root, 'link.js'));
  server = await servePlayground(root, { port: 0 });
});

after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

/** A raw request (no URL normalisation by a client), returning status, headers and body. */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the build on 127.0.0.1 with cross-origin isolation and a CSP that allows only its own origin', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const r = await get('/');
  assert.equal(r.status, 200);
  assert.equal(r.body, '<!doctype html><title>t</title>');
  assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.match(String(r.headers['content-security-policy']), /default-src 'self'.*connect-src 'self'/);
  assert.equal((await get('/samples/x.npy')).status, 200);
});

test('refuses paths out of the folder, hidden and unknown files, and methods other than GET and HEAD', async () => {
  for (const path of [
    '/../outside.js',
    '/%2e%2e/outside.js',
    '/samples/%2e%2e/%2e%2e/outside.js',
    '/link.js',
    '/.secret.js',
    '/samples/x.exe',
    '/%00.js',
    '/missing.js',
  ]) {
    assert.equal((await get(path)).status, 404, path);
  }
  assert.equal((await get('/', 'POST')).status, 405);
  assert.equal((await get('/%E0%A4%A.js')).status, 400);
});

test('a folder without a build is refused naming the build command', async () => {
  await assert.rejects(servePlayground(join(work, 'nothing')), /no playground build in .*npm run build:web/);
});
