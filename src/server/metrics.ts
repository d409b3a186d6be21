/**
 * The guard's Prometheus metrics (prom-client), in a registry of its own (no global state): requests
 * and their latency, examples per verdict, flags per detector, detector score distributions,
 * rate-limited requests, review queue depth and review decisions, and the process's own metrics
 * (resident memory, CPU, event-loop lag) under the `gibbon_guard_` prefix.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface GuardMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly examples: Counter<'verdict'>;
  readonly flags: Counter<'detector'>;
  readonly scores: Histogram<'detector'>;
  readonly rateLimited: Counter<'client'>;
  readonly decisions: Counter<'decision'>;
  readonly queueDepth: Gauge;
  readonly storeErrors: Counter;
}

/** `queueDepth` is read from the store when Prometheus scrapes (the last known value if that fails). */
export function createGuardMetrics(queueDepth: () => Promise<number>): GuardMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gibbon_guard_' });
  const registers = [registry];
  let lastDepth = 0;
  return {
    registry,
    requests: new Counter({ name: 'gibbon_guard_requests_total', help: 'HTTP requests by route and status code', labelNames: ['route', 'status'], registers }),
    latency: new Histogram({
      name: 'gibbon_guard_request_duration_seconds',
      help: 'Time from request to response, by route',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    examples: new Counter({
      name: 'gibbon_guard_examples_total',
      help: 'Classified examples by verdict (ok, flagged, refused)',
      labelNames: ['verdict'],
      registers,
    }),
    flags: new Counter({ name: 'gibbon_guard_flags_total', help: 'Examples over a detector threshold, by detector', labelNames: ['detector'], registers }),
    scores: new Histogram({
      name: 'gibbon_guard_detector_score',
      help: 'Detector scores of classified examples, by detector',
      labelNames: ['detector'],
      buckets: [-10, -5, -2, -1, 0, 0.5, 1, 2, 3, 5, 10, 20, 50],
      registers,
    }),
    rateLimited: new Counter({
      name: 'gibbon_guard_rate_limited_total',
      help: 'Requests refused by the per-key rate limit, by client',
      labelNames: ['client'],
      registers,
    }),
    decisions: new Counter({ name: 'gibbon_guard_review_decisions_total', help: 'Review decisions by outcome', labelNames: ['decision'], registers }),
    queueDepth: new Gauge({
      name: 'gibbon_guard_review_queue_depth',
      help: 'Flagged items waiting for review',
      registers,
      async collect() {
        try {
          lastDepth = await queueDepth();
        } catch {
          // The database is down: keep the last value; /healthz says so.
        }
        this.set(lastDepth);
      },
    }),
    storeErrors: new Counter({ name: 'gibbon_guard_store_errors_total', help: 'Review database operations that failed', registers }),
  };
}
