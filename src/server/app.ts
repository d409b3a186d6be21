/**
 * The guard service on fastify: POST /v1/predict (API key, per-key rate limit, bounded body) answers
 * class scores, detector scores and a verdict per example, and queues flagged examples for review
 * (durably, before answering); GET /healthz; GET /metrics (Prometheus); the review API and page
 * (admin key, review-routes.ts). Every error is a JSON `{ "error": message }` with a 4xx status for
 * what the client did wrong, 503 while the review database is down, and 500 (logged) otherwise.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { sha256Hex } from '../storage/checkpoint-file.js';
import { argmaxRows, type Tensor } from '../tensor/tensor.js';
import { Credentials, RateLimiter, requestKey } from './auth.js';
import type { GuardedModel } from './guarded-model.js';
import { createGuardMetrics, type GuardMetrics } from './metrics.js';
import type { GuardPolicy } from './policy.js';
import { BadRequest, examplesFromJson, examplesFromNpy } from './request-body.js';
import { registerReviewRoutes } from './review-routes.js';
import { reviewItemId, StoreUnavailable, type ReviewStore } from './review-store.js';
import { StatefulDetector } from './stateful-detector.js';
import { verdicts } from './verdict.js';

export interface GuardAppOptions {
  readonly model: GuardedModel;
  readonly store: ReviewStore;
  readonly policy: GuardPolicy;
  readonly credentials: Credentials;
  /** Largest request body in bytes (default 4 MiB). */
  readonly bodyLimit?: number;
  /** A pino-compatible logger, true for JSON logs on stdout, false (default) for none. */
  readonly logger?: boolean | FastifyBaseLogger;
}

export interface GuardApp {
  readonly server: FastifyInstance;
  readonly metrics: GuardMetrics;
  readonly stateful: StatefulDetector | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBodyDigest?: string;
  }
}

/** Routes as metrics label them (not the raw URL, which would let clients create label values). */
function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unknown';
}

export function createGuardApp(options: GuardAppOptions): GuardApp {
  const { model, store, policy, credentials } = options;
  const server = Fastify({
    bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024,
    logger:
      options.logger === true
        ? { level: 'info', redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'] }
        : options.logger === false || options.logger === undefined
          ? false
          : undefined,
    loggerInstance: typeof options.logger === 'object' ? options.logger : undefined,
  });
  const metrics = createGuardMetrics(async () => (await store.counts()).pending);
  const stateful = policy.stateful && new StatefulDetector(policy.stateful, model.exampleShape);
  const limiter = policy.rateLimit && new RateLimiter(policy.rateLimit.perSecond, policy.rateLimit.burst);
  const limits = { exampleShape: model.exampleShape, maxBatch: policy.maxBatch };

  const digestBody = (request: FastifyRequest, body: Buffer): void => {
    request.rawBodyDigest = sha256Hex(body);
  };
  // Only JSON and .npy bodies: anything else is 415.
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    digestBody(request, body as Buffer);
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch (e) {
      done(new BadRequest(`the body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });
  server.addContentTypeParser(['application/octet-stream', 'application/x-npy'], { parseAs: 'buffer' }, (request, body, done) => {
    digestBody(request, body as Buffer);
    done(null, body);
  });

  server.addHook('onResponse', async (request, reply) => {
    const route = routeLabel(request);
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  server.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof BadRequest) return reply.code(error.status).send({ error: error.message });
    if (error instanceof StoreUnavailable) {
      metrics.storeErrors.inc();
      request.log.error({ err: error.message }, 'review database unavailable');
      return reply.code(503).header('retry-after', '1').send({ error: 'the review database is unavailable; retry later' });
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500)
      return reply.code(error.statusCode).send({ error: error.message });
    request.log.error({ err: error }, 'internal error');
    return reply.code(500).send({ error: 'internal error' });
  });
  server.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));

  server.get('/healthz', async (_request, reply) => {
    try {
      await store.ping();
    } catch (e) {
      return reply.code(503).send({ status: 'unavailable', store: store.description, error: (e as Error).message });
    }
    return { status: 'ok', model: model.path, detectors: model.detectors.map((d) => d.name), store: store.description };
  });

  server.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  server.post('/v1/predict', async (request, reply) => {
    const client = credentials.client(requestKey(request.headers));
    if (!client)
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'a valid API key is required (x-api-key or Authorization: Bearer)' });
    const wait = limiter?.take(client) ?? 0;
    if (wait > 0) {
      metrics.rateLimited.inc({ client });
      return reply
        .code(429)
        .header('retry-after', String(Math.ceil(wait)))
        .send({ error: `rate limit of ${limiter!.perSecond} requests/s for this key exceeded` });
    }
    // A plain Uint8Array view: parseNpy's slice must copy (Buffer.slice would share the pool).
    const x: Tensor = Buffer.isBuffer(request.body)
      ? examplesFromNpy(new Uint8Array(request.body.buffer, request.body.byteOffset, request.body.byteLength), limits)
      : examplesFromJson(request.body, limits);
    const classification = await model.classify(x);
    const statefulScores = stateful?.observe(client, x);
    const rows = verdicts(classification, model.detectors, statefulScores, policy);
    const classes = argmaxRows(classification.logits);
    const c = model.numClasses;
    const idempotency = request.headers['idempotency-key'];
    const requestKeyText = typeof idempotency === 'string' && idempotency.length <= 200 ? `key:${idempotency}` : `body:${request.rawBodyDigest ?? ''}`;
    const reviewIds: (string | null)[] = [];
    const per = x.data.length / x.shape[0]!;
    const now = Date.now();
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      metrics.examples.inc({ verdict: row.verdict });
      for (const [name, s] of Object.entries(row.scores)) metrics.scores.observe({ detector: name }, s);
      for (const name of row.reasons) metrics.flags.inc({ detector: name });
      if (row.verdict === 'ok') {
        reviewIds.push(null);
        continue;
      }
      const id = reviewItemId(client, requestKeyText, r);
      const added = await store.enqueue({
        id,
        client,
        input: x.data.slice(r * per, (r + 1) * per),
        shape: model.exampleShape,
        answer: classes[r]!,
        logits: Array.from(classification.logits.data.subarray(r * c, (r + 1) * c)),
        scores: row.scores,
        reasons: row.reasons,
        verdict: row.verdict,
        createdAt: now,
      });
      if (added) request.log.info({ client, review_id: id, verdict: row.verdict, reasons: row.reasons }, 'queued for review');
      reviewIds.push(id);
    }
    const answered = (r: number): boolean => rows[r]!.verdict === 'ok' || (rows[r]!.verdict === 'flagged' && policy.flagAction === 'answer-and-queue');
    const detectorScores: Record<string, (number | null)[]> = {};
    for (const name of [...model.detectors.map((d) => d.name), ...(stateful ? ['stateful'] : [])])
      detectorScores[name] = rows.map((row) => row.scores[name] ?? null);
    return {
      outputs: rows.map((_, r) => (answered(r) ? Array.from(classification.logits.data.subarray(r * c, (r + 1) * c)) : null)),
      classes: rows.map((_, r) => (answered(r) ? classes[r]! : null)),
      verdicts: rows.map((row) => row.verdict),
      reasons: rows.map((row) => row.reasons),
      detectors: detectorScores,
      review_ids: reviewIds,
    };
  });

  registerReviewRoutes(server, { store, credentials, metrics, exampleShape: model.exampleShape, numClasses: model.numClasses });
  return { server, metrics, stateful };
}
