/**
 * Starting and stopping the whole guard: the model with its detectors, the review store, the
 * policy, the credentials and the fastify app, listening on host:port. Used by `gibbon guard
 * serve`, the end-to-end tests and the load and attack benchmarks.
 */
import type { FastifyBaseLogger } from 'fastify';
import { GibbonError } from '../errors.js';
import { createGuardApp, type GuardApp } from './app.js';
import type { Credentials } from './auth.js';
import { GuardedModel, type GuardedModelOptions } from './guarded-model.js';
import { DEFAULT_POLICY, type GuardPolicy } from './policy.js';
import { openReviewStore } from './open-review-store.js';
import type { ReviewStore } from './review-store.js';
import { unknownPolicyDetectors } from './verdict.js';

export interface GuardServiceOptions extends GuardedModelOptions {
  readonly model: string;
  readonly detectors?: readonly string[];
  readonly policy?: GuardPolicy;
  /** sqlite:PATH, a bare path, or postgres://… (default sqlite:guard-review.db). */
  readonly db?: string;
  readonly credentials: Credentials;
  readonly host?: string;
  /** 0 for any free port. */
  readonly port?: number;
  readonly bodyLimit?: number;
  readonly logger?: boolean | FastifyBaseLogger;
}

export interface GuardService extends GuardApp {
  readonly url: string;
  readonly model: GuardedModel;
  readonly store: ReviewStore;
  close(): Promise<void>;
}

export async function startGuard(options: GuardServiceOptions): Promise<GuardService> {
  const policy = options.policy ?? DEFAULT_POLICY;
  const model = await GuardedModel.load(options.model, options.detectors ?? [], options);
  const unknown = unknownPolicyDetectors(policy, model.detectors);
  if (unknown.length > 0) {
    await model.dispose();
    throw new GibbonError(
      'invalid_option',
      `the policy names detector '${unknown[0]}', which is not among --detector (${model.detectors.map((d) => d.name).join(', ') || 'none'})`,
      {
        option: 'policy',
      },
    );
  }
  let store: ReviewStore;
  try {
    store = await openReviewStore(options.db ?? 'sqlite:guard-review.db');
  } catch (e) {
    await model.dispose();
    if (e instanceof GibbonError) throw e;
    throw new GibbonError('runtime_failure', `review database cannot be opened: ${(e as Error).message}`, { option: 'db' }, { cause: e });
  }
  const app = createGuardApp({ model, store, policy, credentials: options.credentials, bodyLimit: options.bodyLimit, logger: options.logger });
  const host = options.host ?? '127.0.0.1';
  let address: string;
  try {
    address = await app.server.listen({ host, port: options.port ?? 8080 });
  } catch (e) {
    await model.dispose();
    await store.close();
    throw new GibbonError('runtime_failure', `cannot listen on ${host}:${options.port ?? 8080}: ${(e as Error).message}`, { option: 'port' }, { cause: e });
  }
  return {
    ...app,
    url: address,
    model,
    store,
    async close() {
      await app.server.close();
      await store.close();
      await model.dispose();
    },
  };
}
