/**
 * Serves any `TextClassifier` over HTTP in the wire format HttpTextModel speaks (http-text-model.ts):
 * `POST /` with `{"texts": [...]}` answers `{"scores": [[...], ...]}`. For tests, demos and putting
 * a local model (e.g. a third-party npm classifier) behind an endpoint to attack it as a remote black
 * box. Bounded: the body is read up to `maxBodyBytes` (413 beyond), at most `maxTexts` texts per
 * request, each a string (400 otherwise); a failure of the model is a 500 with a one-line message.
 * Listens on 127.0.0.1 unless told otherwise.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TextClassifier } from './classifier.js';

export interface TextEndpointOptions {
  readonly port?: number;
  readonly host?: string;
  /** Default 4 MiB. */
  readonly maxBodyBytes?: number;
  /** Default 256. */
  readonly maxTexts?: number;
}

export interface TextEndpoint {
  readonly url: string;
  /** Texts scored so far. */
  readonly served: () => number;
  close(): Promise<void>;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpFailure(413, `body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function serveTextClassifier(model: TextClassifier, o: TextEndpointOptions = {}): Promise<TextEndpoint> {
  const maxBody = o.maxBodyBytes ?? 4 * 1024 * 1024;
  const maxTexts = o.maxTexts ?? 256;
  let served = 0;
  const server: Server = createServer((req, res) => {
    const reply = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    (async () => {
      if (req.method !== 'POST') throw new HttpFailure(405, 'use POST with {"texts": [...]}');
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req, maxBody));
      } catch (e) {
        if (e instanceof HttpFailure) throw e;
        throw new HttpFailure(400, 'the body is not JSON');
      }
      const texts = (body as { texts?: unknown } | null)?.texts;
      if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw new HttpFailure(400, 'expected {"texts": [strings]}');
      if (texts.length > maxTexts) throw new HttpFailure(400, `at most ${maxTexts} texts per request`);
      const scores = await model.scores(texts as string[]);
      served += texts.length;
      reply(200, { scores: scores.map((row) => Array.from(row)) });
    })().catch((e: unknown) => {
      const status = e instanceof HttpFailure ? e.status : 500;
      reply(status, { error: ((e as Error).message ?? String(e)).split('\n')[0] });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    served: () => served,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
