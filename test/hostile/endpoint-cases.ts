/**
 * Hostile HTTP endpoints (a local server on 127.0.0.1, one route per misbehaviour) and forged
 * evaluation checkpoints. An endpoint case runs `gibbon eval --threat T` with T naming the route;
 * it must end within the time limit, under the memory cap, with one line naming the endpoint —
 * never following a redirect to another origin, never buffering a body without limit, never
 * recursing on nested JSON, never printing a credential from the URL. A checkpoint case copies a
 * finished evaluation, forges its checkpoint, and resumes: one line naming the checkpoint, or the
 * numbers of the original run.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { literal, type HostileCase, type HostileContext } from './case.js';
import { assertCleanFailure, assertCleanSuccess } from './harness.js';
import { linearLogits } from './models.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const MIB = 1024 * 1024;

/** Streams `total` bytes made by `chunk` with backpressure, stopping when the client goes away. */
function stream(res: ServerResponse, chunk: Buffer, total: number, end?: string): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      if (res.destroyed) return;
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end(end);
  };
  res.on('close', () => (sent = total));
  pump();
}

const ROUTES: Record<string, Handler> = {
  ok(_req, res, body) {
    const inputs = (JSON.parse(body) as { inputs: number[][] }).inputs;
    const outputs = inputs.map((row) => linearLogits(Float32Array.from(row.flat(4) as number[])));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ outputs }));
  },
  'redirect-other-origin'(_req, res) {
    res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
  },
  'redirect-localhost-port'(req, res) {
    const port = (req.socket.localPort ?? 0) + 1;
    res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
  },
  'redirect-loop'(_req, res) {
    res.writeHead(302, { location: '/redirect-loop' }).end();
  },
  'redirect-file'(_req, res) {
    res.writeHead(302, { location: 'file:///etc/passwd' }).end();
  },
  'stream-forever'(_req, res) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"outputs": [');
    const timer = setInterval(() => {
      if (res.destroyed) clearInterval(timer);
      else res.write(`${' '.repeat(64 * 1024)}`);
    }, 5);
    res.on('close', () => clearInterval(timer));
  },
  trickle(_req, res) {
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 200);
    res.on('close', () => clearInterval(timer));
  },
  silent() {
    // Never answers.
  },
  '300mb'(_req, res) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(300 * MIB + 2) });
    res.write('[');
    stream(res, Buffer.alloc(MIB, 0x20), 300 * MIB, ']');
  },
  '300mb-chunked'(_req, res) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"outputs": [[');
    stream(res, Buffer.from('1,'.repeat(MIB / 2)), 300 * MIB, '1]]}');
  },
  'gzip-bomb'(_req, res) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const gz = createGzip({ level: 1 });
    gz.pipe(res);
    gz.write('{"outputs": [[');
    let left = 2048;
    const zeros = Buffer.alloc(MIB, 0x30);
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        left--;
        if (!gz.write(zeros)) {
          gz.once('drain', pump);
          return;
        }
      }
      gz.end(']]}');
    };
    res.on('close', () => (left = 0));
    pump();
  },
  'nested-1e5'(_req, res) {
    res.setHeader('content-type', 'application/json');
    res.end(`{"outputs": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
  },
  'spaces-1e6'(_req, res) {
    res.setHeader('content-type', 'application/json');
    res.end(`[${' '.repeat(1_000_000)}`);
  },
  html(_req, res) {
    res.setHeader('content-type', 'text/html');
    res.end('<html><body>gateway says hi</body></html>');
  },
  nan(_req, res, body) {
    const n = (JSON.parse(body) as { inputs: unknown[] }).inputs.length;
    res.setHeader('content-type', 'application/json');
    res.end(`{"outputs": [${Array(n).fill('[NaN, 1, 2]').join(',')}]}`);
  },
  'ragged-rows'(_req, res, body) {
    const n = (JSON.parse(body) as { inputs: unknown[] }).inputs.length;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ outputs: Array.from({ length: n }, (_, i) => Array(1 + (i % 4)).fill(0.5)) }));
  },
  'huge-numbers'(_req, res, body) {
    const n = (JSON.parse(body) as { inputs: unknown[] }).inputs.length;
    res.setHeader('content-type', 'application/json');
    res.end(`{"outputs": [${Array(n).fill('[1e400, -1e400, 0]').join(',')}]}`);
  },
  'error-500'(_req, res) {
    res.writeHead(500).end('internal error');
  },
  'wrong-count'(_req, res) {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ outputs: [[1, 2, 3]] }));
  },
  'proto-pollution'(_req, res) {
    res.setHeader('content-type', 'application/json');
    res.end('{"__proto__": {"outputs": [[1,2,3]]}, "constructor": {"prototype": {"x": 1}}}');
  },
};

export interface HostileServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startHostileServer(): Promise<HostileServer> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    const route = (req.url ?? '/').split('?')[0]!.replace(/^\/+/, '');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size < 16 * MIB) chunks.push(c);
    });
    req.on('end', () => {
      const handler = ROUTES[route];
      if (!handler) {
        res.writeHead(404).end('no such route');
        return;
      }
      try {
        handler(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch {
        if (!res.headersSent) res.writeHead(400);
        res.end();
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const THREAT = [
  'knowledge: scores',
  'norm: linf',
  'eps: [0.1]',
  'input: { bounds: [0, 1], shape: [4] }',
  'query_budget: 20',
  'data: { x: x.npy, labels: y.npy }',
  'n: 4',
];

let counter = 0;

async function evalEndpoint(
  ctx: HostileContext,
  url: string,
  extra: string[] = [],
): Promise<{ file: string; r: Awaited<ReturnType<HostileContext['gibbon']>> }> {
  const file = `tm-endpoint-${++counter}.yaml`;
  const endpoint = ['endpoint:', `  url: "${url}"`, '  num_classes: 3', '  timeout_ms: 2000', '  retries: 0', ...extra.map((l) => `  ${l}`)];
  writeFileSync(join(ctx.ws.models, file), [...THREAT, ...endpoint].join('\n'));
  const r = await ctx.gibbon(['eval', '--threat', file, '--attacks', 'square', '--out', `out-endpoint-${counter}`]);
  return { file, r };
}

function endpointCase(route: string, pattern: RegExp = /127\.0\.0\.1|endpoint/, extra: string[] = []): HostileCase {
  return {
    group: 'endpoint',
    name: route,
    async run(ctx) {
      const url = `${ctx.server()}/${route}`;
      const { file, r } = await evalEndpoint(ctx, url, extra);
      assertCleanFailure(r, pattern, `${route} (${file})`);
    },
  };
}

export function endpointCases(): HostileCase[] {
  return [
    {
      group: 'endpoint',
      name: 'a well-behaved endpoint evaluates (control)',
      async run(ctx) {
        const { file, r } = await evalEndpoint(ctx, `${ctx.server()}/ok`);
        assertCleanSuccess(r, file);
        assert.match(r.stdout, /endpoint: \d+ requests/);
      },
    },
    endpointCase('redirect-other-origin', /redirect|169\.254/),
    endpointCase('redirect-localhost-port', /redirect|127\.0\.0\.1/),
    endpointCase('redirect-loop', /redirect/),
    endpointCase('redirect-file', /redirect|file:/),
    endpointCase('stream-forever'),
    endpointCase('trickle'),
    endpointCase('silent', /2000 ms|timeout|time/),
    endpointCase('300mb'),
    endpointCase('300mb-chunked'),
    endpointCase('gzip-bomb'),
    endpointCase('nested-1e5'),
    endpointCase('spaces-1e6'),
    endpointCase('html', /JSON|json/),
    endpointCase('nan', /NaN|finite|score/),
    endpointCase('ragged-rows', /class|score|row/),
    endpointCase('huge-numbers', /finite|score|Infinity/),
    endpointCase('error-500', /500/),
    endpointCase('wrong-count', /row|example|count|1/),
    endpointCase('proto-pollution', /outputs|field/),
    {
      group: 'endpoint',
      name: 'credentials in the URL never appear in the error',
      async run(ctx) {
        const url = ctx.server().replace('http://', 'http://admin:hunter2-secret@') + '/error-500';
        const { file, r } = await evalEndpoint(ctx, url);
        assertCleanFailure(r, /credentials|127\.0\.0\.1/, file);
        assert.ok(!r.stderr.includes('hunter2') && !r.stdout.includes('hunter2'), `the password leaked: ${r.stderr}`);
      },
    },
    {
      group: 'endpoint',
      name: 'a file: URL is refused',
      async run(ctx) {
        const { file, r } = await evalEndpoint(ctx, 'file:///etc/passwd');
        assertCleanFailure(r, /url|http/, file);
        assert.ok(!r.stderr.includes('root:'), 'no file content');
      },
    },
    {
      group: 'endpoint',
      name: 'nothing listening',
      async run(ctx) {
        const { file, r } = await evalEndpoint(ctx, 'http://127.0.0.1:9/predict');
        assertCleanFailure(r, /127\.0\.0\.1:9/, file);
      },
    },
  ];
}

interface CheckpointShape {
  fingerprint: Record<string, unknown>;
  batches: number;
  finished: boolean;
  records: Record<string, unknown>[];
  [k: string]: unknown;
}

/** Arguments of the evaluation whose checkpoint the cases forge (also used to make it). */
export const EVAL_ARGS = ['eval', 'model.onnx', '--threat', 'tm-checkpoint.yaml', '--attacks', 'fgsm', '--batch-size', '2'];
export const CHECKPOINT_THREAT = [
  'knowledge: white-box',
  'norm: linf',
  'eps: [0.1]',
  'input: { bounds: [0, 1], shape: [4] }',
  'data: { x: x.npy, labels: y.npy }',
  'n: 10',
].join('\n');

interface ReportNumbers {
  clean_accuracy: unknown;
  robust_accuracy: unknown;
}

function reportNumbers(dir: string): [unknown, unknown] {
  const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportNumbers;
  return [r.clean_accuracy, r.robust_accuracy];
}

/**
 * A forged checkpoint, resumed: either a clean one-line failure naming the checkpoint, or success
 * with exactly the numbers of the evaluation it was forged from (forged records recomputed or
 * ignored) — never a report of something that was not measured.
 */
function checkpointCase(name: string, forge: (c: CheckpointShape, dir: string) => string | void, pattern: RegExp = /checkpoint/): HostileCase {
  return {
    group: 'checkpoint',
    name,
    async run(ctx) {
      const dir = `out-forged-${++counter}`;
      const full = join(ctx.ws.models, dir);
      cpSync(ctx.evaluated(), full, { recursive: true });
      rmSync(join(full, 'report.json'), { force: true });
      const path = join(full, 'checkpoint.json');
      const c = JSON.parse(readFileSync(path, 'utf8')) as CheckpointShape;
      c.finished = false;
      const text = forge(c, full);
      if (text !== undefined) writeFileSync(path, text);
      const r = await ctx.gibbon([...EVAL_ARGS, '--out', dir, '--resume']);
      if (r.code === 0) {
        assertCleanSuccess(r, `${name} (${dir})`);
        assert.deepEqual(reportNumbers(full), reportNumbers(ctx.evaluated()), `${name}: a resumed run reports the numbers of the original evaluation`);
      } else assertCleanFailure(r, pattern, `${name} (${dir})`);
    },
  };
}

const json = (c: CheckpointShape): string => JSON.stringify(c);

export function checkpointCases(): HostileCase[] {
  return [
    {
      group: 'checkpoint',
      name: 'an untouched finished checkpoint resumes to the same numbers (control)',
      async run(ctx) {
        const dir = `out-forged-${++counter}`;
        const full = join(ctx.ws.models, dir);
        cpSync(ctx.evaluated(), full, { recursive: true });
        rmSync(join(full, 'report.json'), { force: true });
        const r = await ctx.gibbon([...EVAL_ARGS, '--out', dir, '--resume']);
        assertCleanSuccess(r, dir);
        assert.deepEqual(reportNumbers(full), reportNumbers(ctx.evaluated()));
      },
    },
    checkpointCase('cut after 2 batches', (c) => {
      c.records = c.records.slice(0, 2);
      return json(c);
    }),
    checkpointCase('another model fingerprint', (c) => {
      c.fingerprint = { ...c.fingerprint, model: '0'.repeat(64) };
      return json(c);
    }),
    checkpointCase('truncated JSON', (c) => json(c).slice(0, 200)),
    checkpointCase('binary garbage', () => '\u0000\u0001\u00ff'.repeat(100)),
    checkpointCase('a JSON array', () => '[]'),
    checkpointCase('JSON nested 100 000 deep', () => `{"format": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    checkpointCase('format version 999', (c) => JSON.stringify({ ...c, version: 999 })),
    checkpointCase('a record with batch index 999', (c) => {
      c.records = [{ ...c.records[0]!, index: 999 }];
      return json(c);
    }),
    checkpointCase('a record with a negative start', (c) => {
      c.records = [{ ...c.records[0]!, start: -5 }];
      return json(c);
    }),
    checkpointCase('a record ending at 10^9', (c) => {
      c.records = [{ ...c.records[0]!, end: 1e9 }];
      return json(c);
    }),
    checkpointCase('a prediction of class 77', (c) => {
      c.records = [{ ...c.records[0]!, predictions: [77, 77] }];
      return json(c);
    }),
    checkpointCase('the same batch twice', (c) => {
      c.records = [c.records[0]!, c.records[0]!];
      return json(c);
    }),
    checkpointCase('batches = 10^12', (c) => {
      c.batches = 1e12;
      return json(c);
    }),
    checkpointCase('batches negative', (c) => {
      c.batches = -1;
      return json(c);
    }),
    checkpointCase('records not a list', (c) => JSON.stringify({ ...c, records: { length: 1e9 } })),
    checkpointCase('eps records for a budget the threat model lacks', (c) => {
      const r = c.records[0]! as { eps: { eps: number }[] };
      c.records = [{ ...c.records[0]!, eps: r.eps.map((e) => ({ ...e, eps: 0.9 })) }];
      return json(c);
    }),
    checkpointCase('the checkpoint is a directory', (_c, dir) => {
      rmSync(join(dir, 'checkpoint.json'));
      mkdirSync(join(dir, 'checkpoint.json'));
    }),
    checkpointCase('the checkpoint is a symlink to /etc/passwd', (_c, dir) => {
      rmSync(join(dir, 'checkpoint.json'));
      symlinkSync('/etc/passwd', join(dir, 'checkpoint.json'));
    }),
    checkpointCase('a 50 MB checkpoint', (c) => JSON.stringify({ ...c, padding: 'x'.repeat(50 * MIB) }), /checkpoint|padding/),
  ];
}

export { literal };
