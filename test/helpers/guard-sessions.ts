/**
 * Attack and benign sessions through a running guard over HTTP, as the stateful detector sees them:
 * each session is one client (its own API key) asking about one MNIST test image with gibbon's own
 * Square, HopSkipJump or NES through an HttpModel, or a benign client sending clean test images.
 * A session counts as flagged within Q queries when the guard's stateful detector flagged one of
 * the client's first Q queries. The adaptive attacker knows the detector: it shifts every query by
 * a random translation of up to `shift` pixels (the model barely cares, the pooled encoding does),
 * or spreads a session over `keys` API keys (Sybil).
 */
import { runAttack } from '../../src/attacks/attack.js';
import { createAttack } from '../../src/attacks/registry.js';
import { decisionOracle, scoreOracle, type ClassifierModel } from '../../src/model/oracles.js';
import { HttpModel } from '../../src/model/remote/http-model.js';
import { Rng } from '../../src/random.js';
import type { GuardService } from '../../src/server/guard-service.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export const ATTACKS = ['square', 'hsj', 'nes'] as const;
export type SessionAttack = (typeof ATTACKS)[number];

export interface Adaptation {
  /** Largest random translation (pixels) applied to each query; 0: none. */
  readonly shift?: number;
  /** API keys a session's queries are spread over, round robin; 1: one key. */
  readonly keys?: number;
}

export interface SessionResult {
  readonly flaggedWithin: boolean;
  /** Query number of the first flag (0: never). */
  readonly firstFlag: number;
  readonly queries: number;
  readonly success: boolean;
}

/** Rolls each CHW example by (dy, dx), filling with 0 (MNIST's background). */
function translate(x: Tensor, rng: Rng, max: number): Tensor {
  const [c, h, w] = x.shape.slice(1) as [number, number, number];
  const out = new Float32Array(x.data.length);
  for (let n = 0; n < x.shape[0]!; n++) {
    const dy = rng.integer(2 * max + 1) - max;
    const dx = rng.integer(2 * max + 1) - max;
    for (let ch = 0; ch < c; ch++) {
      const base = (n * c + ch) * h * w;
      for (let y = 0; y < h; y++) {
        const sy = y - dy;
        if (sy < 0 || sy >= h) continue;
        for (let xx = 0; xx < w; xx++) {
          const sx = xx - dx;
          if (sx >= 0 && sx < w) out[base + y * w + xx] = x.data[base + sy * w + sx]!;
        }
      }
    }
  }
  return { data: out, shape: x.shape };
}

/** The HttpModels of a session's keys, asked round robin, each query shifted when the attacker adapts. */
class AdaptiveClient implements ClassifierModel {
  private turn = 0;
  constructor(
    private readonly models: readonly HttpModel[],
    private readonly rng: Rng,
    private readonly shift: number,
  ) {}
  get numClasses(): number {
    return this.models[0]!.numClasses;
  }
  get inputShape(): readonly (number | null)[] {
    return this.models[0]!.inputShape;
  }
  logits(x: Tensor): Promise<Tensor> {
    const model = this.models[this.turn++ % this.models.length]!;
    return model.logits(this.shift > 0 ? translate(x, this.rng, this.shift) : x);
  }
}

export interface SessionSetup {
  readonly guard: GuardService;
  /** API key of client i (the guard must know it). */
  readonly keyOf: (client: number) => string;
  /** Client name of client i (to read the detector's counts). */
  readonly nameOf: (client: number) => string;
}

/** One attack session on example (x, y) as client(s) `firstClient`…; queries per session = budget. */
export async function attackSession(
  setup: SessionSetup,
  attack: SessionAttack,
  x: Tensor,
  y: Int32Array,
  firstClient: number,
  options: { readonly budget: number; readonly within: number; readonly seed: number; readonly adaptation?: Adaptation },
): Promise<SessionResult> {
  const keys = options.adaptation?.keys ?? 1;
  const models = await Promise.all(
    Array.from({ length: keys }, (_, k) =>
      HttpModel.connect({
        url: `${setup.guard.url}/v1/predict`,
        inputShape: [null, 1, 28, 28],
        headers: { 'x-api-key': setup.keyOf(firstClient + k) },
        numClasses: 10,
      }),
    ),
  );
  const client = new AdaptiveClient(models, new Rng(options.seed), options.adaptation?.shift ?? 0);
  const oracle = attack === 'hsj' ? decisionOracle(client, { queryBudget: options.budget }) : scoreOracle(client, { queryBudget: options.budget });
  // NES with 10 samples per estimate (the paper's 50 would spend a 100-query budget in two steps); ε 0.3 as MNIST's usual L∞ budget.
  const instance = attack === 'nes' ? createAttack('nes', { samples: 10 }) : createAttack(attack);
  const outcome = await runAttack(instance, oracle, x, y, { eps: attack === 'hsj' ? 3 : 0.3, norm: attack === 'hsj' ? 'l2' : 'linf', seed: options.seed });
  const stats = Array.from({ length: keys }, (_, k) => setup.guard.stateful?.clientStats(setup.nameOf(firstClient + k)));
  // Over several keys, the session's query order interleaves them; a flag within Q session queries is a flag within ⌈Q/keys⌉ of one key's.
  const perKey = Math.ceil(options.within / keys);
  const firstFlags = stats.map((s) => s?.firstFlag ?? 0).filter((f) => f > 0);
  const firstFlag = firstFlags.length > 0 ? Math.min(...firstFlags) : 0;
  return {
    flaggedWithin: firstFlags.some((f) => f <= perKey),
    firstFlag,
    queries: stats.reduce((a, s) => a + (s?.queries ?? 0), 0),
    success: outcome.success[0] === 1,
  };
}

/** A benign client sending `images` clean examples one request each; returns its flags and queries. */
export async function benignSession(setup: SessionSetup, client: number, images: Tensor): Promise<{ flags: number; queries: number; firstFlag: number }> {
  const model = await HttpModel.connect({
    url: `${setup.guard.url}/v1/predict`,
    inputShape: [null, 1, 28, 28],
    headers: { 'x-api-key': setup.keyOf(client) },
    numClasses: 10,
  });
  const per = images.data.length / images.shape[0]!;
  for (let i = 0; i < images.shape[0]!; i++) await model.logits({ data: images.data.subarray(i * per, (i + 1) * per), shape: [1, ...images.shape.slice(1)] });
  const s = setup.guard.stateful!.clientStats(setup.nameOf(client))!;
  return { flags: s.flags, queries: s.queries, firstFlag: s.firstFlag };
}
