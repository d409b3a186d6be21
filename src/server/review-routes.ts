/**
 * The review API and page, for the admin key only (Bearer, or Basic auth from a browser): list and
 * view queued items, their image, decide benign / attack (with an optional class), and export the
 * reviewed items as a training set (.npy X and Y). Responses carry a strict
 * Content-Security-Policy and no-store caching.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { adminKey, type Credentials } from './auth.js';
import type { GuardMetrics } from './metrics.js';
import { BadRequest } from './request-body.js';
import { REVIEW_CSP, REVIEW_CSS, REVIEW_JS, renderReviewPage } from './review-page.js';
import { DECISIONS, type ReviewStore } from './review-store.js';
import { examplePng, trainingSet } from './training-set.js';

export interface ReviewRouteOptions {
  readonly store: ReviewStore;
  readonly credentials: Credentials;
  readonly metrics: GuardMetrics;
  readonly exampleShape: readonly number[];
  readonly numClasses: number;
}

const listQuery = z.strictObject({
  status: z.enum(['pending', 'reviewed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1e9).default(0),
});
const idParams = z.strictObject({ id: z.string().regex(/^[0-9a-f]{32}$/, 'must be a review item id (32 hex digits)') });

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new BadRequest(`${what} ${issue.path.join('.') || ''}: ${issue.message}`.replace(/ +:/, ':'));
  }
  return r.data;
}

export function registerReviewRoutes(server: FastifyInstance, options: ReviewRouteOptions): void {
  const { store, credentials, metrics, exampleShape } = options;
  const imageable = exampleShape.length === 2 || (exampleShape.length === 3 && (exampleShape[0] === 1 || exampleShape[0] === 3));
  const decisionBody = z.strictObject({
    decision: z.enum(DECISIONS),
    label: z
      .number()
      .int()
      .min(0)
      .max(options.numClasses - 1)
      .optional(),
  });

  const requireAdmin = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.header('content-security-policy', REVIEW_CSP).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
    const key = adminKey(request.headers);
    if (key === undefined) {
      await reply
        .code(401)
        .header('www-authenticate', 'Basic realm="gibbon guard review", charset="UTF-8"')
        .send({ error: 'the review API needs the admin key' });
    } else if (!credentials.isAdmin(key)) {
      await reply.code(403).send({ error: 'this key may not use the review API' });
    }
  };

  server.register(async (admin) => {
    admin.addHook('onRequest', requireAdmin);

    admin.get('/review', async (_request, reply) => {
      const [pending, reviewed, counts] = await Promise.all([
        store.list({ status: 'pending', limit: 100, offset: 0 }),
        store.list({ status: 'reviewed', limit: 100, offset: 0 }),
        store.counts(),
      ]);
      return reply.type('text/html; charset=utf-8').send(renderReviewPage(pending, reviewed, counts, imageable));
    });
    admin.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
    admin.get('/review/app.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(REVIEW_JS));
    admin.get('/review/app.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(REVIEW_CSS));

    admin.get('/v1/review/items', async (request) => {
      const q = parse(listQuery, request.query, 'query');
      const [items, counts] = await Promise.all([store.list(q), store.counts()]);
      return { items, counts };
    });
    admin.get('/v1/review/items/:id', async (request, reply) => {
      const { id } = parse(idParams, request.params, 'item');
      const item = await store.get(id);
      if (!item) return reply.code(404).send({ error: `no review item ${id}` });
      return { ...item, input: Array.from(item.input) };
    });
    admin.get('/v1/review/items/:id/image.png', async (request, reply) => {
      const { id } = parse(idParams, request.params, 'item');
      const item = await store.get(id);
      if (!item) return reply.code(404).send({ error: `no review item ${id}` });
      const png = examplePng(item.input, item.shape);
      if (!png) return reply.code(404).send({ error: `item ${id} has shape [${item.shape.join(', ')}], which is not an image` });
      return reply.type('image/png').send(Buffer.from(png));
    });
    admin.post('/v1/review/items/:id/decision', async (request, reply) => {
      const { id } = parse(idParams, request.params, 'item');
      const body = parse(decisionBody, request.body, 'decision');
      const item = await store.decide(id, body.decision, body.label, Date.now());
      if (!item) return reply.code(404).send({ error: `no review item ${id}` });
      metrics.decisions.inc({ decision: body.decision });
      request.log.info({ review_id: id, decision: body.decision, label: body.label }, 'review decision');
      return { ...item, input: undefined, logits: undefined };
    });
    admin.get('/v1/review/export/:file', async (request, reply) => {
      const { file } = parse(z.strictObject({ file: z.enum(['X.npy', 'Y.npy']) }), request.params, 'export');
      const set = trainingSet(await store.reviewed(), exampleShape);
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename="${file}"`)
        .header('x-gibbon-items', String(set.count))
        .send(Buffer.from(file === 'X.npy' ? set.x : set.y));
    });
  });
}
